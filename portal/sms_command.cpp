#include "portal/sms_command.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

extern char** environ;

namespace sealpost::portal {

Result<void> run_sms_command(const std::string& command, std::string_view number,
                             std::string_view message, std::chrono::seconds timeout) {
  if (!pickup::valid_phone_number(number)) return Error::plain("sms: invalid phone number");
  std::vector<std::string> args;
  std::size_t pos = 0;
  while (pos < command.size()) {
    std::size_t end = command.find(' ', pos);
    std::string word =
        command.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? command.size() : end + 1;
    if (word.empty()) continue;
    if (auto at = word.find("{number}"); at != std::string::npos) word.replace(at, 8, number);
    args.push_back(std::move(word));
  }
  if (args.empty() || args[0][0] != '/')
    return Error::plain("sms: command must be an absolute path");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Error::plain("sms: pipe failed");
  UniqueFd read_end(pipefd[0]), write_end(pipefd[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, read_end.get(), STDIN_FILENO);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  read_end.reset();
  if (rc != 0) return Error::plain(std::string("sms: cannot start command: ") + std::strerror(rc));

  std::string input(message);
  input += '\n';
  {
    // A program that exits without reading stdin must not kill us with SIGPIPE:
    // block it for this thread while writing and swallow a pending one after.
    sigset_t pipe_set, old_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    std::string_view rest(input);
    while (!rest.empty()) {
      ssize_t n = ::write(write_end.get(), rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the program closed stdin early; its exit status decides
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    write_end.reset();
    timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  }

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return Error::plain("sms: waitpid failed");
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return Error::plain("sms: command timed out");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error::plain("sms: command failed with status " + std::to_string(status));
  return {};
}

}  // namespace sealpost::portal
