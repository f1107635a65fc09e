/*
 * Fuzz target: restoring and verifying a snapshot file made of arbitrary
 * bytes.  Anything but a well-formed snapshot must be refused with an error
 * and leave no directory behind.
 */

#include "config.h"

#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_verify_report	 rep;
	struct stat			 st;
	char				 dir[] = "/tmp/lwfuzz.XXXXXX", file[64];
	char				 target[96], *cause = NULL;
	FILE				*f;
	int				 rc;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(file, sizeof file, "%s/in.snap", dir);
	snprintf(target, sizeof target, "%s/restored", dir);
	if ((f = fopen(file, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);

	rc = store_restore(file, target, &cause);
	free(cause);
	cause = NULL;
	if (rc != 0 && stat(target, &st) == 0)
		abort();	/* a refused restore must leave nothing */
	(void)store_verify_path(file, NULL, &rep, &cause);
	free(cause);

	if (rc == 0) {
		snprintf(file, sizeof file, "rm -rf %s", dir);
		if (system(file) != 0)
			abort();
	} else {
		unlink(file);
		rmdir(dir);
	}
	return (0);
}
