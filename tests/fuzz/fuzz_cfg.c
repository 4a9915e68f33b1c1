/* fuzz_cfg.c — libFuzzer target for the configuration parser. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "cfg.h"
#include "fsutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("cfg", 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	struct config *cfg = cfg_new();
	struct strv errors;
	strv_init(&errors);
	if (cfg_read(cfg, path, &errors) == 0)
		(void)cfg_check(cfg, &errors);
	strv_free(&errors);
	cfg_free(&cfg);
	return 0;
}
