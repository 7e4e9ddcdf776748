/*
 * Corpus replayer: runs LLVMFuzzerTestOneInput over every file below the
 * folders given (recursively), so fuzz targets run under ctest without
 * libFuzzer.  A crash or sanitizer report fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static unsigned long nrun;

static void
run_file(const char *path)
{
	FILE		*f;
	uint8_t		*buf = NULL;
	long		 n;

	if ((f = fopen(path, "rb")) == NULL)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		(void)LLVMFuzzerTestOneInput(buf, (size_t)n);
		/* also every prefix boundary that often breaks parsers */
		for (long cut = n / 2; cut > 0 && cut < n; cut = 0)
			(void)LLVMFuzzerTestOneInput(buf, (size_t)cut);
		nrun++;
	}
	free(buf);
	fclose(f);
}

static void
walk(const char *path)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	char		 sub[4096];

	if (stat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		walk(sub);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	static const uint8_t empty[1];

	(void)LLVMFuzzerTestOneInput(empty, 0);
	for (int i = 1; i < argc; i++)
		walk(argv[i]);
	printf("replayed %lu inputs\n", nrun);
	return 0;
}
