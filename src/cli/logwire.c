/*
 * logwire: the command-line client and admin tool.
 *
 * Every command is one struct cli_cmd in the table below.  Options may stand
 * before or after the command word, so parsing goes in two steps: find the
 * command word first (skipping the arguments of options, whose shape is
 * known from every command's option table), then run getopt_long over the
 * remaining words with the global options and that command's own, letting
 * it permute options and operands.
 */

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int	cli_help_exec(struct cli *, struct cli_args *);

/* Options every command takes. */
#define CLI_GLOBAL_SHORTOPTS "hu:"
static const struct option cli_global_longopts[] = {
	{ "help",	no_argument,		NULL,	CLI_OPT_HELP },
	{ "key",	required_argument,	NULL,	CLI_OPT_KEY },
	{ "token",	required_argument,	NULL,	CLI_OPT_TOKEN },
	{ "url",	required_argument,	NULL,	CLI_OPT_URL },
	{ "version",	no_argument,		NULL,	CLI_OPT_VERSION },
	{ NULL,		0,			NULL,	0 }
};

/*
 * Every command of the contract is built now.  One that is not yet would
 * be listed with an entry of its name, usage and summary and a NULL exec:
 * it is then shown in --help and refused with "not available in this
 * build yet" (cli_planned).
 */
static const struct cli_cmd cli_help_entry = {
	.name = "help",
	.usage = "[COMMAND]",
	.summary = "describe all commands, or one",
	.minargs = 0,
	.maxargs = 1,
	.exec = cli_help_exec
};

static const struct cli_cmd *cli_cmds[] = {
	&cmd_tail_entry,
	&cmd_publish_entry,
	&cmd_history_entry,
	&cmd_channels_entry,
	&cmd_export_entry,
	&cmd_snapshot_entry,
	&cmd_restore_entry,
	&cmd_verify_entry,
	&cmd_token_entry,
	&cli_help_entry
};

/* Find a command by its full name. */
static const struct cli_cmd *
cli_lookup(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(cli_cmds); i++) {
		if (strcmp(cli_cmds[i]->name, name) == 0)
			return (cli_cmds[i]);
	}
	return (NULL);
}

/* Return how a long option table takes the option named name[0..len). */
static int
cli_long_has_arg(const struct option *o, const char *name, size_t len,
    int *prefix)
{
	for (; o != NULL && o->name != NULL; o++) {
		if (strncmp(o->name, name, len) != 0)
			continue;
		if (o->name[len] == '\0')
			return (o->has_arg);
		if (o->has_arg == required_argument)
			*prefix = 1;
	}
	return (-1);
}

/* Return whether a short option letter takes an argument in optstring. */
static int
cli_short_has_arg(const char *optstring, int ch)
{
	const char	*cp;

	if (optstring == NULL || ch == ':')
		return (0);
	if ((cp = strchr(optstring, ch)) == NULL)
		return (0);
	return (cp[1] == ':');
}

/*
 * Decide whether option word arg (it starts with '-') consumes the next word
 * as its argument, according to the global options or any command's.  Two
 * commands must not disagree on whether an option takes an argument.
 */
static int
cli_option_takes_next(const char *arg)
{
	const char	*name, *cp;
	size_t		 len, i;
	int		 has_arg, prefix = 0;

	if (arg[1] == '-') {
		name = arg + 2;
		len = strcspn(name, "=");
		if (name[len] == '=')
			return (0);
		has_arg = cli_long_has_arg(cli_global_longopts, name, len,
		    &prefix);
		for (i = 0; has_arg == -1 && i < nitems(cli_cmds); i++) {
			has_arg = cli_long_has_arg(cli_cmds[i]->longopts, name,
			    len, &prefix);
		}
		if (has_arg != -1)
			return (has_arg == required_argument);
		return (prefix);
	}
	for (cp = arg + 1; *cp != '\0'; cp++) {
		has_arg = cli_short_has_arg(CLI_GLOBAL_SHORTOPTS, *cp);
		for (i = 0; !has_arg && i < nitems(cli_cmds); i++) {
			has_arg = cli_short_has_arg(cli_cmds[i]->shortopts,
			    *cp);
		}
		if (has_arg)
			return (cp[1] == '\0');
	}
	return (0);
}

/* Return the index in argv of the command word, or -1 if there is none. */
static int
cli_find_command(int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return (i + 1 < argc ? i + 1 : -1);
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			return (i);
		if (cli_option_takes_next(argv[i]))
			i++;
	}
	return (-1);
}

/* Return the value of the last option ch given, or NULL. */
const char *
cli_args_get(struct cli_args *args, int ch)
{
	size_t	i;

	for (i = args->nopts; i > 0; i--) {
		if (args->opts[i - 1].ch == ch)
			return (args->opts[i - 1].value);
	}
	return (NULL);
}

/* Return whether option ch was given. */
int
cli_args_has(struct cli_args *args, int ch)
{
	size_t	i;

	for (i = 0; i < args->nopts; i++) {
		if (args->opts[i].ch == ch)
			return (1);
	}
	return (0);
}

/* Print a one-line error message prefixed with the command's name. */
static void
cli_vmessage(struct cli_args *args, const char *fmt, va_list ap,
    const char *tail)
{
	char	*msg;

	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("out of memory");
	if (args != NULL && args->cmd != NULL)
		fprintf(stderr, "logwire: %s: %s%s\n", args->cmd->name, msg,
		    tail);
	else
		fprintf(stderr, "logwire: %s%s\n", msg, tail);
	free(msg);
}

/* Report an error from the store or the server; return exit status 1. */
int
cli_error(struct cli_args *args, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	cli_vmessage(args, fmt, ap, "");
	va_end(ap);
	return (CLI_EXIT_ERROR);
}

/* Report bad usage with the command's synopsis; return exit status 2. */
int
cli_usage_error(struct cli_args *args, const char *fmt, ...)
{
	va_list	 ap;
	char	*tail;

	if (args != NULL && args->cmd != NULL)
		xasprintf(&tail, " (usage: logwire %s %s)", args->cmd->name,
		    args->cmd->usage);
	else
		tail = xstrdup(" (see 'logwire --help')");
	va_start(ap, fmt);
	cli_vmessage(args, fmt, ap, tail);
	va_end(ap);
	free(tail);
	return (CLI_EXIT_USAGE);
}

/*
 * Report JSON text from the server (a message or a history item) that
 * cannot be read: the commands stop there rather than skip a message.
 * The message is named by its serial when it has one: the server writes
 * "serial" before "data", and no string before it can hold an unescaped
 * quote, so the first "serial": is the message's own.  Returns exit
 * status 1.
 */
int
cli_unreadable(struct cli_args *args, const char *text, size_t len,
    const char *why)
{
	const char	*p, *end = text + len;
	uint64_t	 serial = 0;
	unsigned int	 d;
	int		 digits = 0;

	if ((p = memmem(text, len, "\"serial\":", 9)) != NULL) {
		for (p += 9; p < end && *p >= '0' && *p <= '9'; p++) {
			d = (unsigned int)(*p - '0');
			if (serial > (UINT64_MAX - d) / 10) {
				digits = 0;
				break;
			}
			serial = serial * 10 + d;
			digits++;
		}
	}
	if (digits > 0)
		return (cli_error(args, "message %llu cannot be read (%s): "
		    "stopped there", (unsigned long long)serial, why));
	return (cli_error(args, "the server sent JSON that cannot be read "
	    "(%s)", why));
}

/* Print the synopsis of every command and the global options. */
static void
cli_help_all(FILE *f)
{
	const struct cli_cmd	*cmd;
	size_t			 i;

	fprintf(f, "usage: logwire [-u URL] [--token T | --key NAME:SECRET] "
	    "COMMAND ...\n\ncommands:\n");
	for (i = 0; i < nitems(cli_cmds); i++) {
		cmd = cli_cmds[i];
		fprintf(f, "  %s %s\n      %s%s\n", cmd->name, cmd->usage,
		    cmd->summary,
		    cmd->exec == NULL ? " (not available in this build yet)" :
		    "");
	}
	fprintf(f, "\noptions, before or after the command:\n"
	    "  -u, --url URL          server base URL "
	    "(default http://127.0.0.1:8080)\n"
	    "  --token T              access token\n"
	    "  --key NAME:SECRET      API key\n"
	    "  -h, --help             show this help, or a command's\n"
	    "  --version              show the version\n"
	    "\nexit status: 0 success, 1 error from the server or the store, "
	    "2 bad usage\n");
}

/* Print the help of one command. */
static void
cli_help_cmd(FILE *f, const struct cli_cmd *cmd)
{
	fprintf(f, "usage: logwire %s %s\n\n%s.\n", cmd->name, cmd->usage,
	    cmd->summary);
	if (cmd->help != NULL)
		fprintf(f, "\n%s", cmd->help);
	if (cmd->exec == NULL)
		fprintf(f, "\nnot available in this build yet\n");
}

/* Run "logwire help [COMMAND]". */
static int
cli_help_exec(struct cli *cli, struct cli_args *args)
{
	const struct cli_cmd	*cmd;

	if (args->argc == 0) {
		cli_help_all(stdout);
		return (CLI_EXIT_OK);
	}
	if ((cmd = cli_lookup(args->argv[0])) == NULL) {
		return (cli_usage_error(args, "unknown command: %s",
		    args->argv[0]));
	}
	cli_help_cmd(stdout, cmd);
	return (CLI_EXIT_OK);
}

/* Build the getopt_long tables for the global options and cmd's. */
static void
cli_optables(const struct cli_cmd *cmd, char **optstring,
    struct option **longopts)
{
	const struct option	*o;
	size_t			 n = 0, i = 0;

	xasprintf(optstring, ":%s%s", CLI_GLOBAL_SHORTOPTS,
	    cmd != NULL && cmd->shortopts != NULL ? cmd->shortopts : "");
	for (o = cli_global_longopts; o->name != NULL; o++)
		n++;
	for (o = cmd != NULL ? cmd->longopts : NULL; o && o->name; o++)
		n++;
	*longopts = xcalloc(n + 1, sizeof **longopts);
	for (o = cli_global_longopts; o->name != NULL; o++)
		(*longopts)[i++] = *o;
	for (o = cmd != NULL ? cmd->longopts : NULL; o && o->name; o++)
		(*longopts)[i++] = *o;
}

/*
 * Parse options and operands of argv (the command word already removed)
 * into cli and args.  Returns 0, or 2 after reporting bad usage.
 */
static int
cli_parse(struct cli *cli, struct cli_args *args, int argc, char **argv,
    int *help, int *version)
{
	struct option	*longopts;
	char		*optstring;
	int		 ch, ret = CLI_EXIT_USAGE;

	cli_optables(args->cmd, &optstring, &longopts);
	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, optstring, longopts,
	    NULL)) != -1) {
		switch (ch) {
		case CLI_OPT_HELP:
			*help = 1;
			break;
		case CLI_OPT_VERSION:
			*version = 1;
			break;
		case CLI_OPT_URL:
			cli->url = optarg;
			break;
		case CLI_OPT_TOKEN:
			cli->token = optarg;
			break;
		case CLI_OPT_KEY:
			cli->key = optarg;
			break;
		case ':':
			if (optopt != 0 && optopt < 0x100) {
				cli_usage_error(args, "option -%c needs a "
				    "value", optopt);
			} else {
				cli_usage_error(args, "option %s needs a "
				    "value", argv[optind - 1]);
			}
			goto out;
		case '?':
			if (optopt != 0 && optopt < 0x100)
				cli_usage_error(args, "unknown option -%c",
				    optopt);
			else
				cli_usage_error(args, "unknown option %s",
				    argv[optind - 1]);
			goto out;
		default:
			args->opts = xrealloc(args->opts, (args->nopts + 1) *
			    sizeof *args->opts);
			args->opts[args->nopts].ch = ch;
			args->opts[args->nopts].value = optarg;
			args->nopts++;
			break;
		}
	}
	args->argc = argc - optind;
	args->argv = argv + optind;
	ret = 0;
out:
	free(optstring);
	free(longopts);
	return (ret);
}

/* Answer a command of the contract that this build does not have yet. */
static int
cli_planned(const struct cli_cmd *cmd, int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			cli_help_cmd(stdout, cmd);
			return (CLI_EXIT_OK);
		}
	}
	fprintf(stderr, "logwire: %s: not available in this build yet\n",
	    cmd->name);
	return (CLI_EXIT_USAGE);
}

/* Check what no command accepts, then run the command. */
static int
cli_run(struct cli *cli, struct cli_args *args)
{
	const struct cli_cmd	*cmd = args->cmd;

	if (args->argc < cmd->minargs)
		return (cli_usage_error(args, "missing argument"));
	if (cmd->maxargs != -1 && args->argc > cmd->maxargs) {
		return (cli_usage_error(args, "unexpected argument: %s",
		    args->argv[cmd->maxargs]));
	}
	if (cli->token != NULL && cli->key != NULL) {
		return (cli_usage_error(args,
		    "--token and --key cannot be used together"));
	}
	return (cmd->exec(cli, args));
}

int
main(int argc, char **argv)
{
	struct cli	 cli;
	struct cli_args	 args;
	char		**av;
	int		 idx, ac = 0, i, help = 0, version = 0, ret;

	log_init("logwire", LOG_WARN);
	memset(&cli, 0, sizeof cli);
	memset(&args, 0, sizeof args);

	if ((idx = cli_find_command(argc, argv)) != -1) {
		if ((args.cmd = cli_lookup(argv[idx])) == NULL) {
			return (cli_usage_error(NULL, "unknown command: %s",
			    argv[idx]));
		}
		if (args.cmd->exec == NULL)
			return (cli_planned(args.cmd, argc, argv));
	}

	av = xcalloc(argc + 1, sizeof *av);
	for (i = 0; i < argc; i++) {
		if (i != idx)
			av[ac++] = argv[i];
	}
	if ((ret = cli_parse(&cli, &args, ac, av, &help, &version)) != 0)
		goto out;

	if (version) {
		printf("logwire %s\n", PACKAGE_VERSION);
		ret = CLI_EXIT_OK;
	} else if (help && args.cmd != NULL && args.cmd != &cli_help_entry) {
		cli_help_cmd(stdout, args.cmd);
		ret = CLI_EXIT_OK;
	} else if (help) {
		cli_help_all(stdout);
		ret = CLI_EXIT_OK;
	} else if (args.cmd == NULL)
		ret = cli_usage_error(NULL, "no command given");
	else
		ret = cli_run(&cli, &args);
out:
	free(args.opts);
	free(av);
	return (ret);
}
