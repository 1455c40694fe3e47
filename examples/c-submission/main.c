/* A+B, the classic first judge problem: each line of stdin holds two integers; print their
 * sum, one per line. A line that is not two integers ends the program with exit code 1 and a
 * message on stderr.
 *
 *   subrun build examples/c-submission/main.c -o target/examples/sum.wasm
 *   subrun run --workspace target/examples --stdin examples/c-submission/cases/1.in -- sum.wasm
 */
#include <stdio.h>

int main(void) {
    char line[256];
    long long a, b;
    int n = 0;
    while (fgets(line, sizeof line, stdin)) {
        n++;
        if (sscanf(line, "%lld %lld", &a, &b) != 2) {
            fprintf(stderr, "line %d: expected two integers\n", n);
            return 1;
        }
        printf("%lld\n", a + b);
    }
    return 0;
}
