/* limits.c - default limits, kept in one place for --help and the README. */
#include "limits.h"

/* Defaults match the API contract; every one is overridable from the CLI. */
void limits_defaults(struct limits *l)
{
	l->max_body_bytes = 16u << 20;
	l->max_script_bytes = 256u << 10;
	l->max_files = 20;
	l->max_file_bytes = 5u << 20;
	l->max_total_bytes = 10u << 20;
	l->max_artifacts_bytes = 10u << 20;
	l->max_artifact_count = 1000;
	l->stdout_cap = 1u << 20;
	l->stderr_cap = 1u << 20;
	l->workspace_bytes = 512u << 20;
	l->default_timeout_s = 60;
	l->max_timeout_s = 300;
	l->default_memory_bytes = 1536u << 20;
	l->max_memory_bytes = 1536u << 20;
	l->default_cpus = 1;
	l->max_cpus = 1;
	l->pids = 256;
}
