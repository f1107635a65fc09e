/*
 * logwire, the command-line client: its face, one section per source file.
 */

#ifndef CLI_H
#define CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "storage.h"

/*
 * The logwire command line.  Each command is one struct cli_cmd, defined in
 * its cmd-*.c file and listed in the table in logwire.c.  logwire.c parses
 * the options (global and the command's own, before or after the command
 * word) into a struct cli_args and calls the command's exec function, which
 * returns an exit status.  To add a command: define its entry and exec
 * function in a cmd-*.c file, declare the entry in cli.h, and put it in the
 * table in place of its placeholder.  Options of the same name in two
 * commands must agree on whether they take a value (the command word is
 * found before it is known which command's options apply).
 */
#define CLI_EXIT_OK	0	/* success */
#define CLI_EXIT_ERROR	1	/* error reported by the server or the store */
#define CLI_EXIT_USAGE	2	/* bad usage */

/* Option values without a short letter (struct option val). */
#define CLI_OPT_HELP	'h'
#define CLI_OPT_URL	'u'
#define CLI_OPT_TOKEN	0x100
#define CLI_OPT_KEY	0x101
#define CLI_OPT_VERSION	0x102
#define CLI_OPT_FIRST	0x200	/* first value free for commands */

struct cli_cmd;
struct option;

/* Global options, given before or after the command. */
struct cli {
	const char	*url;		/* -u URL: the server's base URL */
	const char	*token;		/* --token T */
	const char	*key;		/* --key NAME:SECRET */
};

/* One option found on the command line, in the order given. */
struct cli_opt {
	int		 ch;		/* short letter or option val */
	const char	*value;		/* NULL for a flag */
};

/* The options and operands of one command. */
struct cli_args {
	const struct cli_cmd *cmd;
	struct cli_opt	*opts;
	size_t		 nopts;
	int		 argc;		/* operands after the options */
	char		**argv;
};

/* A command: its name, help, options and function. */
struct cli_cmd {
	const char	*name;
	const char	*usage;		/* what follows the name */
	const char	*summary;	/* one line for --help */
	const char	*help;		/* more lines of help, or NULL */
	const char	*shortopts;	/* getopt letters of its own options */
	const struct option *longopts;	/* ends with a zero entry, or NULL */
	int		 minargs;	/* operands: at least */
	int		 maxargs;	/* and at most (-1: no limit) */
	int		(*exec)(struct cli *, struct cli_args *);
					/* NULL: not built yet */
};

/* logwire.c */
const char	*cli_args_get(struct cli_args *, int);
int		 cli_args_has(struct cli_args *, int);
int		 cli_usage_error(struct cli_args *, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
int		 cli_error(struct cli_args *, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
int		 cli_unreadable(struct cli_args *, const char *, size_t,
		     const char *);

/* cmd-store.c */
extern const struct cli_cmd cmd_restore_entry;
extern const struct cli_cmd cmd_snapshot_entry;
extern const struct cli_cmd cmd_verify_entry;

/* cmd-ws.c */
extern const struct cli_cmd cmd_tail_entry;
extern const struct cli_cmd cmd_publish_entry;

/* cmd-token.c */
extern const struct cli_cmd cmd_token_entry;

/* cmd-rest.c */
extern const struct cli_cmd cmd_history_entry;
extern const struct cli_cmd cmd_channels_entry;
extern const struct cli_cmd cmd_export_entry;
int		 cmd_rest_snapshot(struct cli *, struct cli_args *,
		     const char *);
int		 cmd_rest_auth(struct cli *, char **);

#endif /* CLI_H */
