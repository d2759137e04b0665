/// A command that ran but failed: ArgumentParser prints `Error: <description>` and exits with status 1
/// (a `ValidationError` would print the usage and exit with 64).
struct CommandFailure: Error, CustomStringConvertible {
    /// What went wrong and, where it helps, what to do.
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
