/* job.c - ownership of job specs and results (see job.h). */
#include "job.h"

#include <stdlib.h>
#include <string.h>

/* Frees everything a spec owns and leaves it empty, so a double free is
 * harmless. */
void job_spec_free(struct job_spec *spec)
{
	for (size_t i = 0; i < spec->nfiles; i++) {
		free(spec->files[i].path);
		free(spec->files[i].data);
	}
	free(spec->files);
	free(spec->entry_point);
	for (size_t i = 0; i < spec->ndependencies; i++)
		free(spec->dependencies[i]);
	free(spec->dependencies);
	memset(spec, 0, sizeof(*spec));
}

/* Same contract as job_spec_free. */
void job_result_free(struct job_result *res)
{
	free(res->out.data);
	free(res->err.data);
	for (size_t i = 0; i < res->nartifacts; i++) {
		free(res->artifacts[i].path);
		free(res->artifacts[i].data);
	}
	free(res->artifacts);
	for (size_t i = 0; i < res->nomitted; i++)
		free(res->omitted[i]);
	free(res->omitted);
	memset(res, 0, sizeof(*res));
}
