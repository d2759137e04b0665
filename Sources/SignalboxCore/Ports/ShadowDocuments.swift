import SignalboxJSON
import SignalboxSQL

/// The device shadows as handlers and rules reach them: an update, as an AWS IoT Device Shadow
/// `update` request makes it, and the lookup `get_shadow()` reads through.
///
/// `ShadowService` (SignalboxShadows) implements it over a ``ShadowStorage``.
package protocol ShadowDocuments: Sendable {
    /// The limits every shadow is held to.
    var limits: ShadowLimits { get }

    /// Updates (creating if needed) the shadow `key` with the request `body`.
    ///
    /// - Returns: The accepted reply.
    /// - Throws: ``ShadowError`` with AWS's code and message.
    func update(_ key: ShadowKey, body: [UInt8]) async throws(ShadowError) -> Value

    /// What `get_shadow()` in rules reads.
    var lookup: any ShadowLookup { get }
}
