import SignalboxCore
import SignalboxTesting
import Testing

@testable import SignalboxServer

/// Which devices a gateway may publish for.
struct DeviceBindingsTests {
    static func registry() async throws -> InMemoryIdentityRegistry {
        let registry = InMemoryIdentityRegistry()
        for name in ["gw1", "gw2"] { try await registry.addGateway(Gateway(name: name, createdAt: 0)) }
        try await registry.bind(thing: "K1", to: "gw1")
        try await registry.bind(thing: "b1", to: "gw2")
        return registry
    }

    @Test func onlyTheGatewaysOwnDevicesPassComparedByteForByte() async throws {
        let bindings = DeviceBindings(registry: try await Self.registry(), autoBind: false)
        // "\u{212A}1" starts with a Kelvin sign, which `String` equality takes for "K1".
        #expect(
            try await bindings.unbound(["K1", "\u{212A}1", "b1", "new", "K1", "b1"], of: "gw1") == [
                "\u{212A}1", "b1", "new",
            ])
        #expect(try await bindings.unbound(["b1"], of: "gw2") == [])
    }

    @Test func withAutoBindingAValidUnboundNameIsBoundAndAnInvalidOneIsNot() async throws {
        let registry = try await Self.registry()
        let bindings = DeviceBindings(registry: registry, autoBind: true)
        #expect(try await bindings.unbound(["new", "\u{212A}2", "b1"], of: "gw1") == ["\u{212A}2", "b1"])
        #expect(try await registry.gateway(of: "new") == "gw1")
        #expect(try await bindings.unbound(["new"], of: "gw2") == ["new"])
    }
}
