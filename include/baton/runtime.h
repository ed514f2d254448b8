/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton runtime — the live-update life cycle inside a program
 *
 * Layer 4, Linux user space. A program creates one struct baton_rt with its
 * own catalog (BATON_SELF_RECORDS), registers the code of the handlers it
 * declared, and calls baton_rt_start() before it serves: in a successor this
 * receives the predecessor's image and fds, verifies, binds and restores
 * every object, and returns once the predecessor has handed over. The
 * program then polls baton_rt_fd() in its event loop and calls
 * baton_rt_dispatch() when it is readable; upgrade requests (from
 * `baton upgrade`, a chosen signal, or baton_rt_upgrade()) are served there.
 *
 * The update, old side: pre-flight check of the new program's catalog while
 * still serving; start the new program and authenticate it when it connects
 * back; freeze; save; send the sealed image and every fd; wait for ready
 * (bounded by a deadline); commit. Before the commit point any failure thaws
 * the program and it goes on serving with its state unchanged.
 *
 * Errors are negative errno values; baton_rt_error() gives the words.
 */
#ifndef BATON_RUNTIME_H
#define BATON_RUNTIME_H

#include <stdint.h>
#include <sys/types.h>

#include <baton/check.h>

#ifdef __cplusplus
extern "C" {
#endif

struct baton_rt;
struct baton_obj;
struct baton_save;
struct baton_region;

/* ------------------------------------------------------------------------ */
/* Objects: fields by name, typed by the schema of the object's version     */

/* Accessors of an object (restore side, upgrade steps, and after setting). */
const char *baton_obj_key(const struct baton_obj *o);
baton_uuid baton_obj_contract(const struct baton_obj *o);
uint32_t baton_obj_version(const struct baton_obj *o);

/*
 * Getters check the field's type against the schema and fail with -ENOENT
 * (no such field) or -EINVAL (another type). Integers of any width are read
 * through get_uint/get_int.
 */
int baton_obj_get_uint(const struct baton_obj *o, const char *field, uint64_t *v);
int baton_obj_get_int(const struct baton_obj *o, const char *field, int64_t *v);
int baton_obj_get_bool(const struct baton_obj *o, const char *field, bool *v);
/* BYTES: copies exactly the schema's size into buf (len must be at least that). */
int baton_obj_get_bytes(const struct baton_obj *o, const char *field, void *buf, size_t len);
/* STRING: points at the text (NUL-terminated, valid while the object lives). */
int baton_obj_get_string(const struct baton_obj *o, const char *field, const char **s, size_t *len);
/* ARRAY: elements in host order, each of the element type's width; *n gets the count. */
int baton_obj_get_array(const struct baton_obj *o, const char *field, void *elems, size_t max,
			size_t *n);
/* SCHEMA: the nested object. */
int baton_obj_get_nested(const struct baton_obj *o, const char *field, const struct baton_obj **n);
/*
 * FD: the received descriptor; the caller takes ownership (an fd nobody
 * takes is closed after restore). Taking it twice fails with -EALREADY.
 */
int baton_obj_take_fd(const struct baton_obj *o, const char *field, int *fd);
/* REGION: the region, already mapped in this process. */
int baton_obj_get_region(const struct baton_obj *o, const char *field, struct baton_region **r);

/* Setters check the type and range against the schema. */
int baton_obj_set_uint(struct baton_obj *o, const char *field, uint64_t v);
int baton_obj_set_int(struct baton_obj *o, const char *field, int64_t v);
int baton_obj_set_bool(struct baton_obj *o, const char *field, bool v);
int baton_obj_set_bytes(struct baton_obj *o, const char *field, const void *buf, size_t len);
int baton_obj_set_string(struct baton_obj *o, const char *field, const char *s, size_t len);
int baton_obj_set_array(struct baton_obj *o, const char *field, const void *elems, size_t n);
/* SCHEMA: the nested object to fill. */
int baton_obj_nested(struct baton_obj *o, const char *field, struct baton_obj **n);
/*
 * FD. In a handler's save (the old side), the fd's number is recorded, not
 * a duplicate: the fd must stay open, and stay the same file, until the
 * update commits or is cancelled. The program is frozen meanwhile; after
 * the commit it exits, after a cancel it thaws with its fds as they were:
 * baton never closes it, on commit, on cancel or on an error. Setting a
 * field again replaces the number. The fd is sent once for each fd field
 * it is set in, and the successor gets a descriptor of its own for each.
 * An fd that is not open when the image is built cancels the update.
 * In an upgrade step (the new side, before baton_rt_start() returns), the
 * object keeps a duplicate and the caller keeps its own: a step takes the
 * fd from the older object, sets it on the newer one and closes it.
 */
int baton_obj_set_fd(struct baton_obj *o, const char *field, int fd);
int baton_obj_set_region(struct baton_obj *o, const char *field, struct baton_region *r);

/* ------------------------------------------------------------------------ */
/* Memory regions: memfd-backed shared mappings that travel as fds          */

/*
 * Creates a region of size bytes (sparse: pages cost memory only when
 * touched), mapped read-write and shared. In the successor the same memfd is
 * mapped again, usually at another address: keep references inside a region
 * as offsets from its base, never as pointers. There it is read-only until
 * the commit (baton_rt_start() has returned): the predecessor may still have
 * to resume with exactly these bytes.
 */
int baton_region_create(struct baton_rt *rt, const char *name, uint64_t size,
			struct baton_region **out);
void *baton_region_base(const struct baton_region *r);
uint64_t baton_region_size(const struct baton_region *r);
const char *baton_region_name(const struct baton_region *r);
/* Unmaps and closes; regions still alive are released by baton_rt_free(). */
void baton_region_destroy(struct baton_region *r);

/* ------------------------------------------------------------------------ */
/* Handlers                                                                 */

/* Creates one object of the handler's written contract and version. */
int baton_save_object(struct baton_save *s, const char *key, uint32_t flags,
		      struct baton_obj **out);

struct baton_handler_ops {
	/*
	 * Called once per update, after freeze, to create this handler's
	 * objects with baton_save_object(). Non-zero cancels the update.
	 */
	int (*save)(void *ctx, struct baton_save *s);
	/*
	 * Called once per incoming object bound to this handler, after any
	 * upgrade steps: the object has the highest version of its contract
	 * the handler reads. Non-zero refuses the update.
	 */
	int (*restore)(void *ctx, const struct baton_obj *o);
	void *ctx;
};

/*
 * An upgrade step: fills out (version from + 1) from in (version from).
 * Fields not set are an error; fds and regions pass through get/set.
 */
typedef int (*baton_step_fn)(void *ctx, const struct baton_obj *in, struct baton_obj *out);

/*
 * Attaches code to a handler the catalog declares; -ENOENT if it declares no
 * such handler, -EEXIST if already registered.
 */
int baton_rt_register(struct baton_rt *rt, const char *handler, const struct baton_handler_ops *ops);
/*
 * Registers the step from version from to from + 1 of contract (text UUID)
 * for handler. Every version a handler reads below the highest one it reads
 * of that contract needs a step; baton_rt_start() refuses to run otherwise.
 */
int baton_rt_register_step(struct baton_rt *rt, const char *handler, const char *contract,
			   uint32_t from, baton_step_fn fn, void *ctx);

/* ------------------------------------------------------------------------ */
/* The life cycle                                                           */

struct baton_lifecycle_ops {
	/* Stop mutating preserved state (stop reading requests). Non-zero cancels. */
	int (*freeze)(void *ctx);
	/* Resume after a cancelled or refused update; state is as it was. */
	void (*thaw)(void *ctx);
	/* The successor serves now: stop serving and exit soon. */
	void (*commit)(void *ctx);
	void *ctx;
};

enum baton_log_level { BATON_LOG_ERROR = 3, BATON_LOG_WARNING = 4, BATON_LOG_INFO = 6, BATON_LOG_DEBUG = 7 };

struct baton_rt_options {
	const void *catalog;          /* BATON_SELF_RECORDS */
	size_t catalog_len;           /* BATON_SELF_RECORDS_LEN */
	const char *control_path;     /* Unix socket for `baton upgrade`; NULL: none */
	int argc;                     /* this program's arguments, given to the successor */
	char *const *argv;            /* unless the request names others */
	uint32_t timeout_ms;          /* deadline per handoff step; 0: 10000 */
	int upgrade_signal;           /* a signal that upgrades to upgrade_program; 0: none */
	const char *upgrade_program;  /* for the signal; NULL: this program's own path */
	/* One line of the runtime's log, without a prefix or newline (the program's
	 * logger adds its own); NULL: stderr, prefixed with program, release, pid. */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
};

int baton_rt_new(struct baton_rt **out, const struct baton_rt_options *opt);
void baton_rt_free(struct baton_rt *rt);
int baton_rt_set_lifecycle(struct baton_rt *rt, const struct baton_lifecycle_ops *ops);

enum baton_start_result {
	BATON_START_COLD = 0,      /* no predecessor: start with empty state */
	BATON_START_RESTORED = 1,  /* state restored from the predecessor */
	BATON_START_CHECKED = 2,   /* dry run (BATON_DRY_RUN_IMAGE): restored, not serving */
};

/*
 * Call after registering handlers and before serving. In a successor
 * (started by a predecessor's runtime) receives, verifies, binds and
 * restores the incoming state and waits for the commit; on refusal returns
 * a negative errno (the predecessor keeps serving: exit non-zero).
 */
int baton_rt_start(struct baton_rt *rt);

/* The fd to poll for readability in the program's event loop. */
int baton_rt_fd(const struct baton_rt *rt);

enum baton_dispatch_result {
	BATON_DISPATCH_CONTINUE = 0,
	/*
	 * The successor serves: exit now. The runtime has already yielded the
	 * CPU once, so the successor answers before this process's exit
	 * (unmapping its regions) competes with it.
	 */
	BATON_DISPATCH_COMMITTED = 1,
};
/* Serves whatever is ready on baton_rt_fd(); never blocks for long. */
int baton_rt_dispatch(struct baton_rt *rt);
/* Blocking helper for simple programs: polls and dispatches for up to timeout_ms (-1: forever). */
int baton_rt_run(struct baton_rt *rt, int timeout_ms);

/* Starts an upgrade to program (argv NULL: this program's arguments). */
int baton_rt_upgrade(struct baton_rt *rt, const char *program, char *const argv[]);

/*
 * Golden images (docs/history.md, docs/runtime.md): freezes, saves and
 * writes the image to path and region N of it to "path.region.N" (a golden
 * region file: only the bytes that are not zero, with a checksum, bound to
 * the image), then thaws; the program serves on with its state unchanged,
 * whether or not this succeeded. File descriptors cannot be stored: the
 * image's fd table keeps what they were. Existing files are replaced. The
 * control socket's SAVE request (`baton save`) runs the same code. Added.
 */
int baton_rt_save_image(struct baton_rt *rt, const char *path);

/*
 * Dry runs. With BATON_DRY_RUN_IMAGE=PATH in the environment,
 * baton_rt_start() does not serve and does not open the control socket: it
 * reads the golden image at PATH and its region files, verifies them, binds
 * the image against the own catalog exactly as a successor would (the
 * writer's release must be on a path the own policy accepts), maps every
 * region from its file (a private copy: the files are never written), gives
 * a placeholder for every other fd (/dev/null, open read-write), runs the
 * upgrade steps and every handler's restore, and returns
 * BATON_START_CHECKED. The program may then run its own consistency checks
 * (reporting each with baton_rt_dry_run_check()) and must exit without
 * serving, with baton_rt_dry_run_result() as its exit status. When start
 * fails in a dry run, exit with baton_rt_dry_run_result() too.
 *
 * With BATON_DRY_RUN_REPORT=FILE (or "-" for stdout) the outcome is written
 * there as one JSON object, rewritten after each baton_rt_dry_run_check().
 */

/*
 * True from the moment baton_rt_start() begins a dry run: handlers check it
 * to leave placeholder fds alone (no epoll, no I/O) and to skip work that
 * only a serving process does.
 */
bool baton_rt_dry_run(const struct baton_rt *rt);

/* The outcome of a dry run; the values are the exit statuses to use. */
enum baton_dry_run_result {
	BATON_DRY_RUN_RESTORED = 0,     /* bound and restored, checks passed */
	BATON_DRY_RUN_REFUSED = 1,      /* path or bind findings: this release does not read it */
	BATON_DRY_RUN_UNREADABLE = 2,   /* the image or a region file is missing, damaged or unreadable */
	BATON_DRY_RUN_FAILED = 3,       /* bound, but an upgrade step or a restore failed */
	BATON_DRY_RUN_CHECK_FAILED = 4, /* restored, but a check of the program's failed */
};
/* One of enum baton_dry_run_result, or -1 when rt is not in a dry run. */
int baton_rt_dry_run_result(const struct baton_rt *rt);

/*
 * Records one consistency check of the program after a dry run's restore:
 * its name, whether it passed and one line of detail (printf format). A
 * failed check makes the result BATON_DRY_RUN_CHECK_FAILED. -EINVAL outside
 * a dry run that restored.
 */
int baton_rt_dry_run_check(struct baton_rt *rt, const char *name, bool passed,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Where this process's state came from. */
struct baton_rt_origin {
	bool restored;                  /* false: cold start */
	char program[BATON_NAME_MAX];
	struct baton_release release;   /* the writer release */
	struct baton_build_id build_id;
	uint64_t generation;            /* this process's generation (writer's + 1) */
	uint64_t frozen_at_ns;          /* CLOCK_MONOTONIC: the writer froze */
	uint64_t restored_at_ns;        /* CLOCK_MONOTONIC: restore finished here */
};
int baton_rt_origin(const struct baton_rt *rt, struct baton_rt_origin *out);
/* The words for the last failure of a call on rt. */
const char *baton_rt_error(const struct baton_rt *rt);

#ifdef __cplusplus
}
#endif

#endif /* BATON_RUNTIME_H */
