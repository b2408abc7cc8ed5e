/* /usr/local/bin/weft in the image: runs the weft CLI with the image's Node, passing every
 * argument through. The image has no shell and no /usr/bin/env for the CLI's shebang. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  char **args = calloc((size_t)argc + 2, sizeof(char *));
  if (args == NULL) return 127;
  args[0] = "node";
  args[1] = "/app/dist/operator/cli/main.js";
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  execv("/usr/local/bin/node", args);
  perror("weft: exec /usr/local/bin/node");
  return 127;
}
