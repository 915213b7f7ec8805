/* budget_cmd.h — the `mpcd budget` command: the privacy budgets of a party, what each has
 * spent in its current period and what is left (docs/governance.md, "Privacy budget"). */
#ifndef MPCD_BUDGET_CMD_H
#define MPCD_BUDGET_CMD_H

/* argv[1] is "budget"; returns the exit status. */
int mpcd_budget_main(int argc, char **argv);

#endif
