import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `signalbox` command: one subcommand per file in this folder, listed in `subcommands`.
@main
struct Signalbox: AsyncParsableCommand {
    /// The command's name, help and subcommands.
    static let configuration = CommandConfiguration(
        commandName: "signalbox",
        abstract: "A self-hosted IoT rules engine and device-shadow service.",
        subcommands: [
            Serve.self, Check.self, TestCommand.self, Eval.self, Gateways.self, Tokens.self, Records.self,
            DeadLetters.self,
            Throttles.self, FunctionsCommand.self,
        ]
    )

    /// Runs the command with a umask of 077: every file Signalbox creates (the databases, their WAL
    /// and shared-memory files, the key) is its owner's alone.
    static func main() async {
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
