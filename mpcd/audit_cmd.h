/* audit_cmd.h — the `mpcd audit` command. */
#ifndef MPCD_AUDIT_CMD_H
#define MPCD_AUDIT_CMD_H

/* argv[1] is "audit"; returns the exit status. */
int mpcd_audit_main(int argc, char **argv);

#endif
