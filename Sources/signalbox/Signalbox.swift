import ArgumentParser

/// The `signalbox` command: one subcommand per file in this folder, listed in `subcommands`.
@main
struct Signalbox: ParsableCommand {
    /// The command's name, help and subcommands.
    static let configuration = CommandConfiguration(
        commandName: "signalbox",
        abstract: "A self-hosted IoT rules engine and device-shadow service.",
        subcommands: [Check.self, TestCommand.self, Eval.self]
    )
}
