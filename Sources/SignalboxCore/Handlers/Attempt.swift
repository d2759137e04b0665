import Synchronization

/// One attempt of an invocation, bounded by its deadline: how the runtime runs every attempt, and
/// how `HandlerHarness` runs them in tests, so a handler's timeout behaves the same in both.
package enum Attempt {
    /// Runs `body`, giving up at `deadline`: the body is cancelled and left to end on its own. A body
    /// failing once the deadline has passed (its own deadline, such as an HTTP client's, fired
    /// first) has timed out too.
    package static func run(
        before deadline: ContinuousClock.Instant, timeout: Duration, _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        let race = Race()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Lifetime of both: the attempt. The timer ends at the deadline or is cancelled when
                // the work finishes; the work is cancelled at the deadline (or when the caller is) and
                // left to end on its own.
                let work = Task {
                    let result: Result<Void, any Error>
                    do {
                        try await body()
                        result = .success(())
                    } catch {
                        let late = ContinuousClock.now >= deadline && !(error is PermanentHandlerError)
                        result = .failure(late ? ActionTimeout(timeout: timeout) : error)
                    }
                    race.finish(with: result)
                }
                let timer = Task {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    guard !Task.isCancelled else { return }
                    race.finish(with: .failure(ActionTimeout(timeout: timeout)))
                }
                race.start(continuation, work: work, timer: timer)
            }
        } onCancel: {
            race.finish(with: .failure(CancellationError()))
        }
    }
}

extension Attempt {
    /// An error's description without payload values: handlers' own errors describe themselves;
    /// others are named by type.
    package static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PermanentHandlerError: error.description
        case let error as ActionTimeout: error.description
        case let error as CustomStringConvertible: error.description
        default: "\(type(of: error))"
        }
    }
}

/// The race of an attempt's body, its timer and its caller's cancellation: the first to finish
/// resumes the caller and cancels the others.
private final class Race: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, any Error>?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
        /// The outcome when it came before the race started (the caller was cancelled already).
        var early: Result<Void, any Error>?
        var done = false
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Void, any Error>, work: Task<Void, Never>, timer: Task<Void, Never>)
    {
        let early = state.withLock { state -> Result<Void, any Error>? in
            if state.done { return state.early }
            state.continuation = continuation
            state.work = work
            state.timer = timer
            return nil
        }
        if let early {
            work.cancel()
            timer.cancel()
            continuation.resume(with: early)
        }
    }

    func finish(with result: Result<Void, any Error>) {
        let taken = state.withLock {
            state -> (CheckedContinuation<Void, any Error>?, Task<Void, Never>?, Task<Void, Never>?)? in
            guard !state.done else { return nil }
            state.done = true
            if state.continuation == nil { state.early = result }
            defer {
                state.continuation = nil
                state.work = nil
                state.timer = nil
            }
            return (state.continuation, state.work, state.timer)
        }
        guard let (continuation, work, timer) = taken else { return }
        work?.cancel()
        timer?.cancel()
        continuation?.resume(with: result)
    }
}

/// Why an attempt did not finish in time.
package struct ActionTimeout: Error, CustomStringConvertible {
    package let timeout: Duration
    package var description: String {
        "the action did not finish within its timeout of \(DurationSyntax.format(timeout))"
    }
}
