/*
 * Replay a fuzz target's committed corpus under make check: every file in
 * CORPUS_DIR goes through LLVMFuzzerTestOneInput once.  A crash, a
 * sanitizer report or an abort() in the target fails the test.
 */

#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
main(void)
{
	struct dirent	*de;
	DIR		*d;
	FILE		*f;
	char		 path[4096];
	uint8_t		*buf;
	long		 len;
	int		 n = 0;

	if ((d = opendir(CORPUS_DIR)) == NULL) {
		perror(CORPUS_DIR);
		return (1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, de->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		buf = malloc(len > 0 ? (size_t)len : 1);
		if (buf == NULL || fread(buf, 1, (size_t)len, f) !=
		    (size_t)len) {
			fclose(f);
			free(buf);
			return (1);
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)len);
		free(buf);
		n++;
	}
	closedir(d);
	printf("%s: %d inputs replayed, 0 failed\n", CORPUS_DIR, n);
	if (n == 0) {
		fprintf(stderr, "%s: empty corpus\n", CORPUS_DIR);
		return (1);
	}
	return (0);
}
