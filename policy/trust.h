#pragma once

#include "policy/plan.h"

/*
 * Open a policy file for reading, as sshd's StrictModes would trust it: a
 * regular file owned by root or the effective uid and writable by neither
 * its group nor others, reached only through directories owned by root or
 * the effective uid that no one else can write to (a sticky directory such
 * as /tmp excepted) and through symlinks owned by root or the effective
 * uid. Both the path as given (every symlink on it followed) and the path
 * the opened file resolves to are checked.
 *
 * Returns the descriptor (O_CLOEXEC), or -EPERM with err->msg "confine:
 * refusing policy PATH: ..." naming what is wrong and the fix, or another
 * -errno with err->msg filled when the file or a directory on the way cannot
 * be opened or examined.
 */
int policy_open_trusted(const char *path, struct policy_error *err);
