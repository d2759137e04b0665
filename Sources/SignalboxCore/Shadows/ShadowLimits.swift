/// The limits the shadow service enforces. The defaults are AWS IoT's.
///
/// Every rejection caused by a limit names it in its message.
package struct ShadowLimits: Sendable, Hashable {
    /// Largest size, in bytes of compact JSON, of the `desired` plus `reported` sections of the merged
    /// document (AWS: 8 KB). Metadata, version and timestamps do not count.
    package var maxStateBytes: Int
    /// Deepest nesting of objects and arrays in the `desired` or `reported` section of a request,
    /// counting the section itself as the first level (AWS: 6; the documented
    /// `"desired": {"one": {"two": {"three": {"four": {"five": {}}}}}}` is 6 deep and accepted).
    package var maxDepth: Int
    /// Longest `clientToken`, in UTF-8 bytes (AWS: 64).
    package var maxClientTokenBytes: Int
    /// Longest thing name (AWS: 128).
    package var maxThingNameLength: Int
    /// Longest shadow name (AWS: 64).
    package var maxShadowNameLength: Int
    /// Largest request body, in bytes, checked before parsing (AWS rejects larger update payloads
    /// with 413).
    package var maxRequestBytes: Int
    /// Largest page of `ListNamedShadowsForThing` (AWS: 100).
    package var maxPageSize: Int
    /// How long, in seconds, a deleted shadow's version is remembered: a shadow re-created within this
    /// time continues from the deleted one's version, later ones start afresh (AWS: 48 hours).
    package var deletedVersionRetention: Int64

    /// Creates limits; every parameter defaults to AWS's value.
    package init(
        maxStateBytes: Int = 8 * 1024,
        maxDepth: Int = 6,
        maxClientTokenBytes: Int = 64,
        maxThingNameLength: Int = 128,
        maxShadowNameLength: Int = 64,
        maxRequestBytes: Int = 128 * 1024,
        maxPageSize: Int = 100,
        deletedVersionRetention: Int64 = 48 * 3600
    ) {
        self.maxStateBytes = maxStateBytes
        self.maxDepth = maxDepth
        self.maxClientTokenBytes = maxClientTokenBytes
        self.maxThingNameLength = maxThingNameLength
        self.maxShadowNameLength = maxShadowNameLength
        self.maxRequestBytes = maxRequestBytes
        self.maxPageSize = maxPageSize
        self.deletedVersionRetention = deletedVersionRetention
    }
}
