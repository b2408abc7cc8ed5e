/* /usr/local/bin/weft in the image: runs the weft CLI with the image's Node, passing every argument through. The image
 * has no shell and no /usr/bin/env for the CLI's shebang. $WEFT_NODE_FLAGS, space-separated, go to node before the
 * CLI: V8 flags that NODE_OPTIONS can't carry, such as the sidecar agent's --lite-mode (operator/api/roles.ts,
 * PROXY_PROCESS_ENV). Each must be a --flag: anything else is refused, not passed on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FLAGS 16
/* Overridable to test the launcher outside the image (hack/image/weft.test.ts). */
#ifndef NODE_PATH
#define NODE_PATH "/usr/local/bin/node"
#endif
#ifndef CLI_PATH
#define CLI_PATH "/app/dist/operator/cli/main.js"
#endif

int main(int argc, char **argv) {
  char *flags[MAX_FLAGS];
  int nflags = 0;
  const char *env = getenv("WEFT_NODE_FLAGS");
  char *copy = env ? strdup(env) : NULL;
  if (env && copy == NULL) return 127;
  for (char *t = copy ? strtok(copy, " ") : NULL; t != NULL; t = strtok(NULL, " ")) {
    if (strncmp(t, "--", 2) != 0 || nflags == MAX_FLAGS) {
      fprintf(stderr, "weft: WEFT_NODE_FLAGS: %s: %s\n", t,
              nflags == MAX_FLAGS ? "more than 16 flags" : "not a --flag");
      return 2;
    }
    flags[nflags++] = t;
  }
  char **args = calloc((size_t)argc + (size_t)nflags + 2, sizeof(char *));
  if (args == NULL) return 127;
  int n = 0;
  args[n++] = "node";
  for (int i = 0; i < nflags; i++) args[n++] = flags[i];
  args[n++] = CLI_PATH;
  for (int i = 1; i < argc; i++) args[n++] = argv[i];
  execv(NODE_PATH, args);
  perror("weft: exec " NODE_PATH);
  return 127;
}
