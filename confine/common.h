#pragma once

/*
 * What the commands share: loading policies, the engine session under
 * confine's state lock, and the one place where a failure becomes a
 * message and an exit status.
 */

#include <stdbool.h>

#include "common/failure.h"
#include "common/notes.h"
#include "engine/engine.h"
#include "policy/plan.h"

#define EXIT_FAILED 1
#define EXIT_POLICY 2 /* bad policy or bad usage */

/*
 * Says what failed, once: a policy failure as its message, anything else
 * as "confine: cannot OBJECT: CAUSE (kernel: MSG)" and a hint keyed on the
 * failing operation. Returns the exit status: EXIT_POLICY for a policy
 * failure, EXIT_FAILED otherwise.
 */
int report(int err, const struct failure *f);
/* Prints every note, then frees them. */
void print_notes(struct notes *notes);
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parses files into plan; with none, the *.policy files of the policy
 * directory (CONFINE_POLICY_DIR, /etc/confine by default), in name order.
 * On error prints it and returns EXIT_POLICY (EXIT_FAILED when the
 * directory cannot be read).
 */
int load_plan(struct plan *plan, char *const *files, int n_files);
/*
 * The service of file's plan that run starts: name (NULL: the only one).
 * NULL, with the reason printed, when there is none such.
 */
struct service *pick_service(const struct plan *plan, const char *file,
			     const char *name);
/* CONFINE_POLICY_DIR from the environment, else the built-in one. */
const char *policy_dir(void);
/* The policy directory's *.policy files, sorted; *n 0 when none. */
int policy_dir_files(char ***files, int *n);
void files_free(char **files, int n);

/* The engine, under confine's state lock (kernel-helpers/lock.h). */
struct session {
	struct engine e;
	int lock_fd; /* held until session_close() */
};

/* Commands that change confine's state lock it exclusively. */
enum session_lock { LOCK_SHARED, LOCK_EXCLUSIVE };

/*
 * Takes the state lock (waiting up to CONFINE_LOCK_TIMEOUT seconds, and
 * saying so), then opens the engine. Returns 0 or an exit status, having
 * said why.
 */
int session_open(struct session *s, const char *netns, enum session_lock mode);
void session_close(struct session *s);

/*
 * apply for a command: installs plan (see engine_apply), prints the notes
 * and the failure. Returns 0 or an exit status.
 */
int apply_plan(struct session *s, struct plan *plan,
	       const struct cgroup *extra);
