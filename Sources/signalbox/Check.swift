import ArgumentParser
import SignalboxConfig
import SignalboxCore
import SignalboxFunctions

/// `signalbox check [FILE]`: loads and compiles a rules file and reports every problem in it.
///
/// Everything, diagnostics included, goes to standard output so the output can be compared with
/// golden files. Exit status 0 when the file is valid, 1 when it is not.
struct Check: ParsableCommand {
    /// The command's help.
    static let configuration = CommandConfiguration(
        abstract:
            "Check a rules file: YAML, SQL, templates, durations, environment references and handler settings.",
        discussion: """
            Prints 'rules.yaml: 4 rules, 6 actions — OK' and exits 0 when the file is valid; otherwise \
            prints every problem with its line, column and a caret, then 'error: rules.yaml has N errors', \
            and exits 1. All output goes to standard output.
            """
    )

    @Argument(help: "The rules file.")
    /// The rules file to check.
    var file: String = "rules.yaml"

    /// Prints the check's outcome; exits 1 when the file has problems.
    ///
    /// One pass reports the problems of every stage (YAML, rule structure, SQL, templates, handler
    /// settings) together, so fixing a file never reveals a new round of errors.
    func run() throws {
        let (output, isValid) = RulesLoader(handlers: HandlerRegistry(HandlerCatalog.all)).check(path: file)
        print(output, terminator: "")
        guard isValid else { throw ExitCode(1) }
    }
}
