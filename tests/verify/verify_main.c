/*
 * Runs every scenario of this program (section ntos_verify) under the
 * explorer: random and PCT (depth 3) with the scenario's short budget, bounded
 * DFS where the scenario asks for it. NTOS_EXPLORE selects one strategy only;
 * NTOS_EXPLORE_LONG=1 multiplies the budgets by 50 (3000 schedules per strategy); argv[1] filters by name.
 * Exit status 1 when any schedule failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify.h"

extern const verify_scenario __start_ntos_verify[];
extern const verify_scenario __stop_ntos_verify[];

int main(int argc, char **argv)
{
    const char *only = getenv("NTOS_EXPLORE");
    int failed = 0;
    for (const verify_scenario *s = __start_ntos_verify; s < __stop_ntos_verify; s++) {
        if (argc > 1 && strstr(s->Name, argv[1]) == NULL)
            continue;
        const char *strategies[3] = {"random", "pct:3", NULL};
        char dfs[32];
        ULONG count = 2;
        if (s->DfsBound) {
            snprintf(dfs, sizeof(dfs), "dfs:%u", s->DfsBound);
            strategies[count++] = dfs;
        }
        if (only != NULL && *only)
            count = 1; /* the explorer takes the strategy from the environment */
        for (ULONG i = 0; i < count; i++) {
            ntos_explore_options o;
            memset(&o, 0, sizeof(o));
            o.Name = s->Name;
            o.Schedules = s->Schedules;
            o.Strategy = strategies[i];
            o.StopAtFailure = TRUE;
            ntos_explore_result r;
            if (ntos_explore(s->Fn, NULL, &o, &r) != 0)
                failed = 1;
        }
    }
    return failed;
}
