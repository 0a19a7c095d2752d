/** uid of the distroless nonroot user the Go servers of both stacks run as. */
export const NONROOT_UID = 65532;
