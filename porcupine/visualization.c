/* visualization.c: the HTML page of a checked history (porcupine's
 * visualization.go).  Not written yet: the page says so. */
#include <errno.h>

#include "info.h"
#include "porcupine.h"

int porc_visualize(const porc_model *m, const porc_info *info, FILE *out)
{
	(void)m;
	if (!info) {
		errno = EINVAL;
		return -1;
	}
	fprintf(out, "<!DOCTYPE html><html><body><p>%s: %s</p></body></html>\n", m->name,
		porc_result_name(info->result));
	return ferror(out) ? -1 : 0;
}

int porc_visualize_path(const porc_model *m, const porc_info *info, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int rc = porc_visualize(m, info, f);
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}
