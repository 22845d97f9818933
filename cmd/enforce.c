/* enforce.c - decide, at start-up, whether jobs will run with cgroup limits.
 * Owns: the rule that serve and run refuse to start without memory limits
 * unless --no-limits says so, loudly. */
#include <stdio.h>

#include "commands.h"

int enforce_limits(struct cgroup_setup *cs, const struct config *cfg, const char *command,
		   const struct cgroup_setup **out)
{
	struct error err = {{0}};
	*out = NULL;
	if (cgroup_setup_init(cs, false, &err) < 0) {
		if (!cfg->no_limits) {
			fprintf(stderr, "coderunner %s: %s\n", command, err.msg);
			return -1;
		}
		cs->version = 0;
	}
	char desc[128];
	cgroup_setup_describe(cs, desc, sizeof(desc));
	if (cs->version != 0 && cs->have[CG_MEMORY]) {
		if (!cs->have[CG_CPU] || !cs->have[CG_PIDS])
			fprintf(
			    stderr,
			    "coderunner %s: warning: cgroups %s; CPU or pids limits will not be "
			    "enforced\n",
			    command, desc);
		*out = cs;
		return 0;
	}
	if (!cfg->no_limits) {
		fprintf(stderr,
			"coderunner %s: cannot enforce memory limits (cgroups %s): %s\n"
			"Run `coderunner doctor` for details, or pass --no-limits to run jobs "
			"without memory, CPU and pids limits.\n",
			command, desc, cs->problem[0] ? cs->problem : "memory controller missing");
		return -1;
	}
	fprintf(stderr,
		"coderunner %s: WARNING: --no-limits: jobs run WITHOUT memory, CPU or pids "
		"limits (%s). A single job can exhaust this host.\n",
		command, cs->problem[0] ? cs->problem : desc);
	cs->version = 0;
	return 0;
}
