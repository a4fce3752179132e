// The floor under any process-per-case harness, for ci/bench to compare sockspec against:
//   fork-wait       fork(), the child _exit(0)s, the parent waitpid()s;
//   fork-exec-wait  the same, but the child execs COMMAND (e.g. one trivial case).
// usage: sockspec-bench-baseline ITERATIONS [COMMAND ARGS...]
// Prints "fork-wait N us" and, with a command, "fork-exec-wait N us" (mean per iteration).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

template <typename Child>
double mean_microseconds(int iterations, Child child) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) child();
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "sockspec-bench-baseline: the child failed (status %d)\n", status);
      std::exit(1);
    }
  }
  const std::chrono::duration<double, std::micro> elapsed =
      std::chrono::steady_clock::now() - start;
  return elapsed.count() / iterations;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::atoi(argv[1]) <= 0) {
    std::fprintf(stderr, "usage: sockspec-bench-baseline ITERATIONS [COMMAND ARGS...]\n");
    return 2;
  }
  const int iterations = std::atoi(argv[1]);
  std::printf("fork-wait %.1f us\n", mean_microseconds(iterations, [] { ::_exit(0); }));
  if (argc > 2) {
    std::printf("fork-exec-wait %.1f us\n", mean_microseconds(iterations, [&] {
                  const int null = ::open("/dev/null", O_WRONLY);
                  ::dup2(null, STDOUT_FILENO);
                  ::execv(argv[2], argv + 2);
                  ::_exit(127);
                }));
  }
  return 0;
}
