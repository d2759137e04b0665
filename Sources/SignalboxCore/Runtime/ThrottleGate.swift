import Synchronization

/// At most one invocation per action, key and period; windows are written through to
/// ``ThrottleStorage`` by the runtime, so they hold across restarts.
final class ThrottleGate: Sendable {
    private struct State {
        var windows: [String: ThrottleEntry] = [:]
        var dirty: [ThrottleEntry] = []
    }

    private let state = Mutex(State())

    /// A gate holding `windows` (loaded from storage).
    init(windows: [ThrottleEntry]) {
        state.withLock { state in
            for window in windows { state.windows[Self.slot(window.action, window.key)] = window }
        }
    }

    private static func slot(_ action: String, _ key: String) -> String { action + "\u{0}" + key }

    /// Whether the invocation may run: no open window for `key`, or the window was opened by this
    /// very invocation (a replay after a crash). Opens a window when it may.
    func acquire(action: String, key: String, per: Duration, now: Int64, idempotencyKey: String) -> Bool {
        let slot = Self.slot(action, key)
        return state.withLock { state in
            if let window = state.windows[slot], window.expiresAt > now {
                return window.idempotencyKey == idempotencyKey
            }
            let window = ThrottleEntry(
                action: action, key: key, startedAt: now, expiresAt: now + per.milliseconds,
                idempotencyKey: idempotencyKey)
            state.windows[slot] = window
            state.dirty.append(window)
            return true
        }
    }

    /// The windows opened since the last call, and forgets the expired ones.
    func takeDirty(now: Int64) -> [ThrottleEntry] {
        state.withLock { state in
            defer { state.dirty = [] }
            if state.windows.count > 1024 { state.windows = state.windows.filter { $0.value.expiresAt > now } }
            return state.dirty
        }
    }

    /// Puts windows that could not be saved back in line for the next save.
    func restoreDirty(_ windows: [ThrottleEntry]) {
        state.withLock { $0.dirty.insert(contentsOf: windows, at: 0) }
    }
}
