import ArgumentParser

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
            Throttles.self,
        ]
    )
}
