/// Which shadow: a thing's classic (unnamed) shadow or one of its named shadows.
///
/// For example:
/// ```swift
/// let classic = ShadowKey(thing: "fridge-7")
/// let named = ShadowKey(thing: "fridge-7", name: "config")
/// ```
package struct ShadowKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The thing (device) name.
    package var thing: String
    /// The shadow name; `nil` for the classic shadow.
    package var name: String?

    /// Creates a key for `thing`'s classic shadow, or its shadow called `name`.
    package init(thing: String, name: String? = nil) {
        self.thing = thing
        self.name = name
    }

    /// The MQTT topic prefix AWS uses for this shadow: `$aws/things/{thing}/shadow[/name/{name}]`.
    package var topicPrefix: String {
        if let name { return "$aws/things/\(thing)/shadow/name/\(name)" }
        return "$aws/things/\(thing)/shadow"
    }

    /// `thing` or `thing/name`, for logs and messages.
    package var description: String {
        if let name { return "\(thing)/\(name)" }
        return thing
    }

    /// Orders by thing, then classic before named shadows, then by shadow name.
    package static func < (lhs: ShadowKey, rhs: ShadowKey) -> Bool {
        if lhs.thing != rhs.thing { return lhs.thing < rhs.thing }
        return (lhs.name ?? "") < (rhs.name ?? "")
    }
}
