/*
 * Host boot modules and command line (arch.h "boot modules"): the hosted
 * kernel's stand-in for the bare-metal -initrd and -append.
 *
 *   NTOS_BOOT_MODULES=path[:path...]   each file is read into memory once, at
 *                                      boot, and becomes one module named after
 *                                      the path's last component
 *   NTOS_BOOT_COMMAND_LINE=text        the kernel command line
 *
 * A file that cannot be read stops the boot with HOST_EXIT_SETUP and the
 * path and reason on stderr: a run that silently lacks the driver it was
 * asked to load would test nothing.
 *
 * Locking: host_boot_modules_init runs once on the boot thread before any
 * other processor exists; after that the table is read-only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_private.h"

#define HOST_MAX_BOOT_MODULES 64

static ARCH_BOOT_MODULE boot_modules[HOST_MAX_BOOT_MODULES];
static ULONG boot_module_count;
static const char *boot_command_line = "";

static void setup_failure(const char *What, const char *Path, int Error)
{
    fprintf(stderr, "ntos host: NTOS_BOOT_MODULES: %s %s: %s\n", What, Path, strerror(Error));
    _exit(HOST_EXIT_SETUP);
}

static void load_module(const char *Path)
{
    if (boot_module_count == HOST_MAX_BOOT_MODULES) {
        fprintf(stderr, "ntos host: NTOS_BOOT_MODULES: more than %u modules\n", HOST_MAX_BOOT_MODULES);
        _exit(HOST_EXIT_SETUP);
    }
    FILE *f = fopen(Path, "rb");
    if (f == NULL)
        setup_failure("cannot open", Path, errno);
    char *data = NULL;
    size_t cap = 0, len = 0, n;
    char chunk[16384];
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            char *grown = realloc(data, cap);
            if (grown == NULL)
                setup_failure("out of memory reading", Path, ENOMEM);
            data = grown;
        }
        memcpy(data + len, chunk, n);
        len += n;
    }
    if (ferror(f))
        setup_failure("cannot read", Path, errno ? errno : EIO);
    fclose(f);
    const char *slash = strrchr(Path, '/');
    ARCH_BOOT_MODULE *m = &boot_modules[boot_module_count++];
    m->Name = strdup(slash ? slash + 1 : Path);
    m->Data = data ? data : ""; /* an empty file is a module of size 0 */
    m->Size = len;
    if (m->Name == NULL)
        setup_failure("out of memory reading", Path, ENOMEM);
}

void host_boot_modules_init(void)
{
    const char *cl = getenv("NTOS_BOOT_COMMAND_LINE");
    if (cl != NULL) {
        boot_command_line = strdup(cl);
        if (boot_command_line == NULL)
            _exit(HOST_EXIT_SETUP);
    }
    const char *list = getenv("NTOS_BOOT_MODULES");
    if (list == NULL || *list == 0)
        return;
    char *copy = strdup(list);
    if (copy == NULL)
        _exit(HOST_EXIT_SETUP);
    char *save = NULL;
    for (char *p = strtok_r(copy, ":", &save); p != NULL; p = strtok_r(NULL, ":", &save))
        load_module(p);
    free(copy);
}

ULONG arch_boot_module_count(void)
{
    return boot_module_count;
}

BOOLEAN arch_boot_module(ULONG Index, ARCH_BOOT_MODULE *Module)
{
    if (Index >= boot_module_count)
        return FALSE;
    *Module = boot_modules[Index];
    return TRUE;
}

const char *arch_boot_command_line(void)
{
    return boot_command_line;
}
