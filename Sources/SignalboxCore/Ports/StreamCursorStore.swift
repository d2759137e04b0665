/// Named positions in a stream that survive restarts, such as how far the gateway sync stream has
/// published the shadow change log.
package protocol StreamCursorStore: Sendable {
    /// The saved cursor `name`, nil if none was saved.
    func cursor(named name: String) async throws -> Int64?

    /// Saves cursor `name`; a lower value than the saved one is ignored (cursors only move forward).
    func save(_ cursor: Int64, named name: String) async throws
}
