/* SPDX-License-Identifier: MIT */
/*
 * DOC: runtime internals — the state of one program's live-update life cycle
 *
 * One struct baton_rt per program (module state in one clearly named
 * structure). Objects, regions and the old and new sides of the handoff live
 * in their own files; this header is what they share.
 */
#ifndef BATON_RUNTIME_RT_H
#define BATON_RUNTIME_RT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <baton/baton.h>

#include "core/msg.h"
#include "transport/transport.h"

/* Environment the runtime reads in a successor (docs/runtime.md). */
#define BATON_ENV_HANDOFF "BATON_HANDOFF"          /* abstract socket name */
#define BATON_ENV_EXEC_IMAGE "BATON_EXEC_IMAGE"    /* exec: fd of the image memfd */
#define BATON_ENV_EXEC_FDS "BATON_EXEC_FDS"        /* exec: fd table, "3-9,12" */
#define BATON_ENV_EXEC_CONTROL "BATON_EXEC_CONTROL"/* exec: control listener fd */
#define BATON_ENV_EXEC_CLIENT "BATON_EXEC_CLIENT"  /* exec: the requester's connection */
#define BATON_ENV_EXEC_OLD "BATON_EXEC_OLD"        /* exec: fd of the old program file */
#define BATON_ENV_EXEC_OLD_ARGV "BATON_EXEC_OLD_ARGV" /* exec: fd of a memfd with its argv */
#define BATON_ENV_EXEC_ROLLBACK "BATON_EXEC_ROLLBACK" /* exec: the reason the new one refused */
#define BATON_ENV_EXEC_T0 "BATON_EXEC_T0"          /* exec: timings so far */
#define BATON_ENV_DRY_RUN "BATON_DRY_RUN_IMAGE"    /* dry run: path of a stored image */
#define BATON_ENV_DRY_RUN_REPORT "BATON_DRY_RUN_REPORT" /* dry run: where its JSON report goes */

/*
 * One field's value. Which member of the union holds it follows from the
 * field's type in the object's schema, and everything that reads a value
 * looks at the type first. Kept small: a handover holds one object per
 * connection on each side, thousands of them, and walks them several times.
 */
struct baton_val {
	union {
		uint64_t u;                  /* integers (two's complement) and bool */
		uint8_t *data;               /* BYTES, STRING (NUL-terminated), ARRAY (host order) */
		struct baton_obj *nested;    /* SCHEMA */
		struct baton_region *region; /* REGION */
	};
	uint32_t len;               /* BYTES, STRING: bytes; ARRAY: elements */
	int fd;                     /* FD: our own descriptor, -1 if none */
	uint32_t index;             /* FD, REGION: index in the image's tables while saving */
	uint32_t inl;               /* BYTES, STRING, ARRAY: where this value's room in the
				       object's allocation is, as an offset from the value */
	uint8_t inl_cap;            /* ... for a value of fewer bytes than this (0: none) */
	bool set;
	bool taken;                 /* FD: a handler took it */
};

/* One allocation: the object, its values, their room, its key. */
struct baton_obj {
	struct baton_rt *rt;
	struct baton_obj *next;     /* the update's list of top-level objects */
	const char *key;            /* at the end of the object's allocation */
	baton_uuid contract;
	uint32_t version;
	uint32_t flags;             /* enum baton_object_flags */
	uint32_t target_version;    /* restore side: the version restore sees */
	const struct baton_rec_schema *schema;   /* in rt's own catalog */
	const struct baton_rec_handler *handler; /* writer (save) or the bound reader */
	const char *writer_handler; /* as the image names it (the image outlives its objects); "" when saving */
	uint32_t nfields;
	struct baton_val *vals;
};

struct baton_region {
	struct baton_rt *rt;
	struct baton_region *next;
	char name[BATON_NAME_MAX];
	int fd;
	void *base;
	uint64_t size;
	bool read_only;             /* received, until the commit */
	uint32_t index;             /* in the image's region table while saving */
	uint32_t fd_index;          /* its memfd in the image's fd table while saving */
};

struct rt_handler {
	const struct baton_rec_handler *rec;
	struct baton_handler_ops ops;
	bool registered;
	const struct baton_rec_schema *writes_schema;  /* what its objects are; found at the first */
	baton_uuid writes_contract;
};

struct rt_step {
	struct rt_handler *h;
	baton_uuid contract;
	uint32_t from;
	baton_step_fn fn;
	void *ctx;
};

struct baton_save {
	struct baton_rt *rt;
	struct rt_handler *h;
};

#define RT_STEPS_MAX 8

struct rt_timing {
	const char *name;
	uint64_t ns;
};

/* A control socket client. */
struct rt_client {
	struct rt_client *next;
	int fd;
	size_t len;
	uint8_t buf[BATON_MSG_MAX];
};

/* The update in progress on the old side. */
struct rt_update {
	bool active;
	struct rt_client *client;    /* who asked; NULL for a signal or the API */
	char program[PATH_MAX];
	char **argv;
	uint32_t transport;
	uint32_t timeout_ms;
	pid_t child;
	int pidfd;
	int listener;
	int timerfd;
	char name[BATON_HANDOFF_NAME_MAX + 1];
	char new_name[BATON_NAME_MAX];          /* what the pre-flight checked */
	char new_release[BATON_RELEASE_STRMAX];
	struct baton_build_id new_build;
	uint64_t t_begin, t_spawn, t_freeze;
	struct rt_timing steps[RT_STEPS_MAX];
	unsigned int nsteps;
};

/* Handed over from a predecessor, until the commit. */
struct rt_incoming {
	int sock;
	int image_fd;
	const void *image;
	size_t image_len;
	int *fds;
	uint32_t nfds;
	pid_t old_pid;
	struct baton_obj *objects;
};

/* Reasons of a refusal: findings (rule != 0) and plain sentences. */
#define RT_REASONS_MAX 64
struct rt_reasons {
	unsigned int n, dropped;
	struct {
		uint16_t rule;
		char text[BATON_MESSAGE_MAX];
	} r[RT_REASONS_MAX];
};

/* A dry run (BATON_DRY_RUN_IMAGE): what happened to each part, for its report. */
enum rt_dry_stage {
	RT_DRY_READ = 0,      /* reading the image and its region files */
	RT_DRY_BIND,          /* path, binding, fingerprints, fields */
	RT_DRY_REGIONS,       /* mapping the regions */
	RT_DRY_DECODE,        /* objects out of the image */
	RT_DRY_RESTORE,       /* upgrade steps and restore */
};

struct rt_dry_object {
	char *key;
	char *writer_handler;
	baton_uuid contract;
	uint32_t version;         /* as written */
	uint32_t target_version;  /* the version its reader restores */
	uint32_t reached_version; /* after the steps that ran */
	const char *handler;      /* the reader it bound to (own catalog); NULL: unbound */
	bool dropped, restored;
};

struct rt_dry_check {
	char *name;
	char *detail;
	bool passed;
};

struct rt_dry {
	char *image;              /* the golden image's path */
	char *report;             /* BATON_DRY_RUN_REPORT, or NULL */
	int result;               /* enum baton_dry_run_result */
	enum rt_dry_stage stage;
	bool have_header;
	struct baton_image_header writer;
	struct rt_dry_object *objs;
	uint32_t nobjs;
	uint32_t *pos;            /* decoded objects, in order: their index in objs */
	struct { uint32_t kind; char name[BATON_NAME_MAX]; bool region; } *fds;
	uint32_t nfds;
	struct { char name[BATON_NAME_MAX]; uint64_t size, stored; bool loaded; } *regions;
	uint32_t nregions;
	struct rt_dry_check *checks;
	size_t nchecks;
	struct rt_reasons findings;
};

struct baton_rt {
	char program_path[PATH_MAX];  /* this program's file, for the signal trigger */
	char *control_path;
	char *upgrade_program;
	char **argv;
	int argc;
	uint32_t timeout_ms;
	int upgrade_signal;
	void (*log_fn)(void *ctx, int level, const char *msg);
	void *log_ctx;

	struct baton_catalog_file *self;
	const struct baton_catalog *cat;
	char name[BATON_NAME_MAX];
	char release[BATON_RELEASE_STRMAX];
	int catalog_findings;         /* rule 2 and schema findings in the own catalog */
	char catalog_problem[BATON_MESSAGE_MAX];

	struct rt_handler *handlers;
	size_t nhandlers;
	struct rt_step *steps;
	size_t nsteps, steps_cap;
	struct baton_lifecycle_ops life;
	bool has_life;

	struct baton_region *regions;
	struct baton_obj *saved;      /* objects of the update being saved */
	struct baton_obj *saved_tail;
	bool started;
	bool committed;
	uint64_t generation;
	struct baton_rt_origin origin;

	int epfd;
	int ctl_listener;
	bool ctl_owned;               /* this process created the path: unlink it at free */
	int sigfd;
	struct rt_client *clients;
	struct rt_update up;
	struct rt_incoming in;
	struct rt_dry *dry;           /* a dry run, from baton_rt_start() on; else NULL */

	char err[BATON_MESSAGE_MAX];
};
void rt_reason_add(struct rt_reasons *rs, uint16_t rule, const char *text);
/* "RULE: message" unless the message starts with its rule already. */
void rt_finding_line(uint16_t rule, const char *text, char *buf, size_t size);

/* rt.c */
void rt_log(struct baton_rt *rt, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Formats the last error into rt->err, logs it at level ERROR and returns code. */
int rt_fail(struct baton_rt *rt, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct rt_handler *rt_find_handler(struct baton_rt *rt, const char *name);
struct rt_step *rt_find_step(struct baton_rt *rt, const struct rt_handler *h,
			     const baton_uuid *contract, uint32_t from);
int rt_epoll_add(struct baton_rt *rt, int fd);
void rt_epoll_del(struct baton_rt *rt, int fd);

/* object.c */
struct baton_obj *rt_obj_new(struct baton_rt *rt, const struct baton_rec_schema *schema,
			     const char *key, uint32_t flags, int *err);
/* The same, for a caller that has the schema's contract parsed already. */
struct baton_obj *rt_obj_new_as(struct baton_rt *rt, const struct baton_rec_schema *schema,
				const baton_uuid *contract, const char *key, uint32_t flags,
				int *err);
void rt_obj_free(struct baton_obj *o);
void rt_obj_free_list(struct baton_obj *o);
/* Every field set, nested ones too; else -EINVAL with the field's name in err. */
int rt_obj_check_set(const struct baton_obj *o, char *err, size_t size);
/* Closes the fds nobody took (after restore). */
void rt_obj_close_untaken(struct baton_obj *o);
/* Writes the saved objects into an image: fd/region tables first, then nodes. */
int rt_image_write(struct baton_rt *rt, struct baton_obj *objs, void *buf, size_t size,
		   const struct baton_image_header *h, size_t *len, int **fds, size_t *nfds,
		   char *err, size_t errsize);
/* Builds an object from an image node, with the reader's schema of its version. */
int rt_obj_decode(struct baton_rt *rt, const struct baton_image *img,
		  const struct baton_image_object *io, const struct baton_rec_schema *schema,
		  int *fds, uint32_t nfds, struct baton_region **regions, struct baton_obj **out,
		  char *err, size_t errsize);

/* region.c */
int rt_region_adopt(struct baton_rt *rt, const char *name, int fd, uint64_t size,
		    struct baton_region **out, char *err, size_t errsize);
/* Makes received regions writable (the commit point has passed). */
int rt_regions_commit(struct baton_rt *rt);

/* old.c: the control socket and the predecessor's side of an update */
int rt_control_open(struct baton_rt *rt, int inherited);
void rt_old_free(struct baton_rt *rt);
int rt_status_reply(struct baton_rt *rt, uint8_t *buf, size_t size, size_t *len);
/* Who this process is, in a message it sends: program, release, build id, pid. */
void rt_msg_put_self(const struct baton_rt *rt, struct baton_msg_writer *w);

/* For the exec transport: the pieces of an update on the old side. */
int rt_update_fail(struct baton_rt *rt, bool frozen, int status, const char *reason);
void rt_update_step(struct baton_rt *rt, const char *name, uint64_t ns);
int rt_update_save(struct baton_rt *rt, int *image_fd, size_t *image_len, int **fds,
		   size_t *nfds, char *err, size_t errsize);
char **rt_child_env(const char *handoff, char *extra[2]);

/* new.c: the successor's side, and the dry run */
int rt_new_start(struct baton_rt *rt);
/* Restores rt->dry->image without serving; ends with rt_dry_end(). */
int rt_dry_run(struct baton_rt *rt);
int rt_finish(struct baton_rt *rt, const struct baton_image_header *h, int ctl_fd);
/* Where the state came from, and the regions writable: the end of a restore. */
int rt_finish_origin(struct baton_rt *rt, const struct baton_image_header *h);

/* golden.c: golden images (the file formats are described there) */
struct rt_golden_saved {
	const char *step;       /* on failure: "save", "freeze+save" or "write" */
	size_t image_len;
	uint32_t objects, nfds, nregions;
	uint64_t region_bytes;  /* region contents stored, holes left out */
	uint64_t freeze_ns;     /* freeze to thaw */
	char **files;           /* "SIZE PATH" of every file written */
	size_t nfiles;
};
/* Freeze, save, write PATH and PATH.region.N, thaw; force replaces existing files. */
int rt_golden_save(struct baton_rt *rt, const char *path, bool force, struct rt_golden_saved *s,
		   char *err, size_t errsize);
void rt_golden_saved_free(struct rt_golden_saved *s);
/* The control socket's SAVE request; the answer (SAVE_RESULT) goes into buf. */
int rt_save_request(struct baton_rt *rt, const struct baton_msg *m, uint8_t *buf, size_t size,
		    size_t *len);
/* XXH64 of an image's bytes, which its region files record. */
uint64_t rt_golden_image_hash(const void *image, size_t len);
/* Writes region r, number index of the image, as a golden region file at path. */
int rt_golden_region_write(const struct baton_region *r, uint32_t index, uint64_t image_hash,
			   const char *path, uint64_t *stored, uint64_t *file_size);
/* Loads golden region file PATH.region.INDEX into memfd, checked against ir and the image. */
int rt_golden_region_load(const char *image_path, uint32_t index,
			  const struct baton_image_region *ir, uint64_t image_hash, int memfd,
			  uint64_t *stored, char *err, size_t errsize);
/* The dry run's record: begun by baton_rt_start(), ended with its result, reported. */
int rt_dry_begin(struct baton_rt *rt, const char *image);
void rt_dry_free(struct rt_dry *dry);
void rt_dry_finding(struct baton_rt *rt, uint16_t rule, const char *text);
int rt_dry_end(struct baton_rt *rt, int result);
int rt_dry_report(struct baton_rt *rt);

/* exec.c */
int rt_exec_upgrade(struct baton_rt *rt);
int rt_exec_start(struct baton_rt *rt);
/* Shared restore path: binds, steps, restores an opened image. */
int rt_restore_image(struct baton_rt *rt, const struct baton_catalog *cat,
		     const struct baton_image *img, int *fds, uint32_t nfds,
		     int reply_sock, bool dry_run);

#endif /* BATON_RUNTIME_RT_H */
