#pragma once
// What the process sets up before any command parses its options: signals that would end it
// without a word, and OpenMP's waiting, which must be chosen before OpenMP loads.

namespace kdprune::commands {

// SIGXFSZ ignored (a file-size limit is then an EFBIG write error, reported in one line); for
// the training subcommands (argv[1]), OMP_WAIT_POLICY=PASSIVE when the machine is busy at the
// start (system::choose_openmp_wait, which may re-execute the binary).
void prepare_process(int argc, char** argv);

// Whether this process prints a command's result line: not a data-parallel rank other than 0
// (every rank trains the same model; its result is said once, as rank 0 writes it).
bool prints_result();

}  // namespace kdprune::commands
