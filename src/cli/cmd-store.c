/*
 * The store commands of logwire, which work on a data directory or a
 * snapshot file directly with the storage engine: snapshot, restore, verify.
 */

#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int	cmd_store_snapshot(struct cli *, struct cli_args *);
static int	cmd_store_restore(struct cli *, struct cli_args *);
static int	cmd_store_verify(struct cli *, struct cli_args *);

static const struct option cmd_snapshot_longopts[] = {
	{ "data-dir",	required_argument,	NULL,	'd' },
	{ NULL,		0,			NULL,	0 }
};

const struct cli_cmd cmd_snapshot_entry = {
	.name = "snapshot",
	.usage = "FILE [-d DATADIR]",
	.summary = "write a consistent snapshot of a store to FILE",
	.help =
	    "  -d, --data-dir DATADIR  read the store in DATADIR directly; a\n"
	    "                          server may be writing it meanwhile\n"
	    "FILE is written beside itself under a temporary name and renamed\n"
	    "into place once complete and synced.\n",
	.shortopts = "d:",
	.longopts = cmd_snapshot_longopts,
	.minargs = 1,
	.maxargs = 1,
	.exec = cmd_store_snapshot
};

const struct cli_cmd cmd_restore_entry = {
	.name = "restore",
	.usage = "FILE DATADIR",
	.summary = "rebuild a store in DATADIR from a snapshot, with new "
	    "epochs",
	.help =
	    "DATADIR must not exist or be empty.  A damaged snapshot is\n"
	    "refused and nothing is left behind.\n",
	.minargs = 2,
	.maxargs = 2,
	.exec = cmd_store_restore
};

const struct cli_cmd cmd_verify_entry = {
	.name = "verify",
	.usage = "DATADIR|FILE",
	.summary = "check every record and channel of a store or a snapshot",
	.help =
	    "Prints each problem found and a summary line; exits 0 only when\n"
	    "everything checks.\n",
	.minargs = 1,
	.maxargs = 1,
	.exec = cmd_store_verify
};

/* The temporary snapshot file, removed if a signal ends the program. */
static char *volatile cmd_store_tmp;

/* Remove the temporary snapshot file, then die of the signal. */
static void
cmd_store_signal(int sig)
{
	char	*tmp = cmd_store_tmp;

	if (tmp != NULL)
		unlink(tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Set what happens on SIGHUP, SIGINT and SIGTERM. */
static void
cmd_store_signals(void (*handler)(int))
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = handler;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Return seconds elapsed since start (mono_ns()). */
static double
cmd_store_elapsed(uint64_t start)
{
	return ((mono_ns() - start) / 1e9);
}

/*
 * Report a store error about path (and other, if not NULL).  The storage's
 * cause usually names one of them already; otherwise path is put in front.
 */
static int
cmd_store_fail(struct cli_args *args, const char *path, const char *other,
    const char *cause, int error)
{
	if (cause == NULL)
		return (cli_error(args, "%s: %s", path, store_strerror(error)));
	if (strncmp(cause, path, strlen(path)) == 0 ||
	    (other != NULL && strncmp(cause, other, strlen(other)) == 0))
		return (cli_error(args, "%s", cause));
	return (cli_error(args, "%s: %s", path, cause));
}

/* Flush the directory holding path, so that a rename in it is durable. */
static int
cmd_store_sync_dir(const char *path)
{
	char	*copy;
	int	 fd, ret = -1;

	copy = xstrdup(path);
	if ((fd = open(dirname(copy), O_RDONLY|O_DIRECTORY)) == -1)
		goto out;
	if (fsync(fd) == -1) {
		close(fd);
		goto out;
	}
	ret = close(fd);
out:
	free(copy);
	return (ret);
}

/*
 * Write a snapshot of the store in DATADIR to FILE.  The snapshot goes to a
 * temporary file beside FILE, which is synced and renamed over FILE only
 * when complete: a failure at any point leaves FILE as it was, and the
 * temporary file is removed, also when a signal ends the program (and
 * SIGXFSZ is ignored, so a file size limit is a write error).
 */
static int
cmd_store_snapshot(struct cli *cli, struct cli_args *args)
{
	struct store_config	 cfg;
	struct store		*st = NULL;
	uint64_t		 start;
	struct stat		 sb;
	const char		*path = args->argv[0], *datadir;
	char			*tmp = NULL, *cause = NULL;
	uint64_t		 bytes = 0;
	int			 fd = -1, error, ret = CLI_EXIT_ERROR;

	if ((datadir = cli_args_get(args, 'd')) == NULL)
		return (cmd_rest_snapshot(cli, args, path));
	if (stat(datadir, &sb) == -1)
		return (cli_error(args, "%s: %s", datadir, strerror(errno)));
	if (!S_ISDIR(sb.st_mode))
		return (cli_error(args, "%s: not a directory", datadir));

	start = mono_ns();
	store_config_default(&cfg);
	cfg.readonly = 1;
	if ((error = store_open(datadir, &cfg, &st, &cause)) != 0) {
		cmd_store_fail(args, datadir, NULL, cause, error);
		goto out;
	}

	xasprintf(&tmp, "%s.tmp-XXXXXX", path);
	signal(SIGXFSZ, SIG_IGN);
	cmd_store_signals(cmd_store_signal);
	if ((fd = mkstemp(tmp)) == -1) {
		cli_error(args, "%s: %s", path, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	cmd_store_tmp = tmp;
	if ((error = store_snapshot(st, fd, &bytes, &cause)) != 0) {
		cmd_store_fail(args, datadir, NULL, cause, error);
		goto out;
	}
	if (fsync(fd) == -1) {
		cli_error(args, "%s: %s", path, strerror(errno));
		goto out;
	}
	error = close(fd);
	fd = -1;
	if (error == -1) {
		cli_error(args, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) == -1) {
		cli_error(args, "%s: %s", path, strerror(errno));
		goto out;
	}
	cmd_store_tmp = NULL;
	free(tmp);
	tmp = NULL;
	if (cmd_store_sync_dir(path) == -1) {
		cli_error(args, "%s: sync directory: %s", path,
		    strerror(errno));
		goto out;
	}

	fprintf(stderr, "logwire: snapshot: %s written from %s: %llu bytes "
	    "in %.2f s\n", path, datadir, (unsigned long long)bytes,
	    cmd_store_elapsed(start));
	ret = CLI_EXIT_OK;
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		cmd_store_tmp = NULL;
		free(tmp);
	}
	cmd_store_signals(SIG_DFL);
	if (st != NULL)
		store_close(st);
	free(cause);
	return (ret);
}

/* Totals of a store, for the summary lines. */
struct cmd_store_totals {
	uint64_t	channels;
	uint64_t	messages;
	char		last[STORE_NAME_MAX + 1];
	size_t		last_len;
};

/* Add one channel to the totals. */
static int
cmd_store_count(const struct store_chan *chan, void *arg)
{
	struct cmd_store_totals	*t = arg;

	t->channels++;
	t->messages += chan->count;
	memcpy(t->last, chan->name, chan->name_len);
	t->last_len = chan->name_len;
	return (0);
}

/* Count the channels and messages of the store in dir. */
static int
cmd_store_totals(const char *dir, struct cmd_store_totals *t, char **cause)
{
	struct store_config	 cfg;
	struct store		*st = NULL;
	struct store_reader	*r = NULL;
	int			 n, error;

	memset(t, 0, sizeof *t);
	store_config_default(&cfg);
	cfg.readonly = 1;
	if ((error = store_open(dir, &cfg, &st, cause)) != 0)
		goto out;
	if ((r = store_reader_open(st)) == NULL) {
		error = STORE_ESYS;
		goto out;
	}
	do {
		n = store_chan_list(r, "", 0, t->channels == 0 ? NULL :
		    t->last, t->last_len, 1000, cmd_store_count, t);
		if (n < 0) {
			error = n;
			goto out;
		}
	} while (n > 0);
	error = 0;
out:
	if (r != NULL)
		store_reader_close(r);
	if (st != NULL)
		store_close(st);
	return (error);
}

/* Rebuild a store in DATADIR from the snapshot FILE. */
static int
cmd_store_restore(struct cli *cli, struct cli_args *args)
{
	struct cmd_store_totals	 t;
	uint64_t		 start;
	const char		*path = args->argv[0], *dir = args->argv[1];
	char			*cause = NULL;
	int			 error, ret = CLI_EXIT_ERROR;

	start = mono_ns();
	if ((error = store_restore(path, dir, &cause)) != 0) {
		if (error == STORE_EEXIST && cause == NULL) {
			cli_error(args, "%s: exists and is not empty", dir);
			goto out;
		}
		cmd_store_fail(args, path, dir, cause, error);
		goto out;
	}
	if ((error = cmd_store_totals(dir, &t, &cause)) != 0) {
		cli_error(args, "%s: restored but cannot be read: %s", dir,
		    cause != NULL ? cause : store_strerror(error));
		goto out;
	}
	fprintf(stderr, "logwire: restore: %s restored into %s: %llu "
	    "channels, %llu messages, new epochs, in %.2f s\n", path, dir,
	    (unsigned long long)t.channels, (unsigned long long)t.messages,
	    cmd_store_elapsed(start));
	ret = CLI_EXIT_OK;
out:
	free(cause);
	return (ret);
}

/* Check a data directory or a snapshot file and print what is wrong. */
static int
cmd_store_verify(struct cli *cli, struct cli_args *args)
{
	struct store_verify_report	 rep;
	const char			*path = args->argv[0];
	char				*cause = NULL;
	int				 error, ret = CLI_EXIT_ERROR;

	memset(&rep, 0, sizeof rep);
	error = store_verify_path(path, stdout, &rep, &cause);
	/*
	 * No problem counted means verify never reached the records: the
	 * path is no store, or the snapshot or data file is damaged before
	 * any record can be read.  That is said as it is, with no summary,
	 * whose "0 errors" would read as a clean bill.
	 */
	if (error != 0 && rep.errors == 0) {
		cmd_store_fail(args, path, NULL, cause, error);
		goto out;
	}
	printf("%s: %llu channels, %llu records, %llu errors\n", path,
	    (unsigned long long)rep.channels, (unsigned long long)rep.records,
	    (unsigned long long)rep.errors);
	if (fflush(stdout) == EOF) {
		cli_error(args, "stdout: %s", strerror(errno));
		goto out;
	}
	if (error != 0 || rep.errors != 0) {
		cli_error(args, "%s: %llu errors found", path,
		    (unsigned long long)rep.errors);
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	free(cause);
	return (ret);
}
