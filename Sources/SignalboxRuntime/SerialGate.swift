import SignalboxCore

/// Runs async operations one at a time, in the order they arrive: a lock that may be held across
/// suspension points (an actor alone would interleave them).
///
/// For example:
/// ```swift
/// let reloads = SerialGate()
/// let outcome = await reloads.run { await reloadNow() }
/// ```
actor SerialGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// An open gate.
    init() {}

    /// Runs `operation` once every operation that arrived before it has finished.
    func run<T: Sendable>(_ operation: @Sendable () async -> T) async -> T {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        let result = await operation()
        if waiting.isEmpty {
            busy = false
        } else {
            // The gate stays closed and passes to the next in line.
            waiting.removeFirst().resume()
        }
        return result
    }
}
