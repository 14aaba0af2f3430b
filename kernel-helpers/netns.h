#pragma once

#include "common/failure.h"

/*
 * Moves the calling thread into the network namespace ns: a name under
 * /run/netns (as `ip netns add` makes them) or a path to a netns file.
 * Only the network namespace changes: cgroupfs stays visible, unlike under
 * `ip netns exec`, which remounts /sys.
 */
int netns_enter(const char *ns, struct failure *fail);
