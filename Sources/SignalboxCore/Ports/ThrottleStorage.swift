/// One throttle window: the action `action` ran for `key` at `startedAt`; until `expiresAt`,
/// other invocations for the key are skipped.
package struct ThrottleEntry: Sendable, Hashable {
    /// `"{rule}/{action index}"`.
    package var action: String
    /// The rendered throttle key.
    package var key: String
    /// When the window started (ms since the epoch).
    package var startedAt: Int64
    /// When it ends (ms since the epoch).
    package var expiresAt: Int64
    /// The invocation that opened the window (a replay of it is not throttled).
    package var idempotencyKey: String

    /// Bundles an entry.
    package init(action: String, key: String, startedAt: Int64, expiresAt: Int64, idempotencyKey: String) {
        self.action = action
        self.key = key
        self.startedAt = startedAt
        self.expiresAt = expiresAt
        self.idempotencyKey = idempotencyKey
    }
}

/// Throttle windows kept across restarts.
package protocol ThrottleStorage: Sendable {
    /// The windows that have not expired at `now`.
    func windows(activeAt now: Int64) async throws -> [ThrottleEntry]

    /// Stores `entries`, replacing the window of the same action and key; drops windows expired at `now`.
    func save(_ entries: [ThrottleEntry], now: Int64) async throws

    /// Deletes the windows of the actions and keys of `entries` (their times are not compared).
    func remove(_ entries: [ThrottleEntry]) async throws
}
