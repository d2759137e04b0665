/// The child tasks the runtime starts while it runs: each action's workers, retries waiting out
/// their backoff, failures on their way to the error action or the dead letters.
///
/// Each is added to the task group of ``RulesRuntime/run()``, so none outlives it. ``finish()``, the
/// last step of a stop, lets the group end once they have; retries still waiting then are cancelled,
/// and their messages, never completed, are handled again at the next start.
final class RuntimeTasks: Sendable {
    typealias Work = @Sendable () async -> Void

    private let stream: AsyncStream<Work>
    private let continuation: AsyncStream<Work>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream()
    }

    /// Runs `work` as a child task of the runtime; dropped once the runtime has stopped.
    func spawn(_ work: @escaping Work) {
        continuation.yield(work)
    }

    /// No more work: ``next()`` returns nil once what was spawned has been taken.
    func finish() {
        continuation.finish()
    }

    /// The stream of spawned work, for the runtime's task group to add.
    var spawned: AsyncStream<Work> { stream }
}
