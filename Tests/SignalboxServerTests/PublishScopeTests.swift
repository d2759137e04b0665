import Testing

@testable import SignalboxServer

/// Which topics a gateway may publish to.
struct PublishScopeTests {
    @Test(arguments: [
        ("gateways/gw/devices/f1/telemetry", true), ("gateways/gw", true), ("gateways/gw/", true),
        ("gateways/gwx/a", false), ("gateways/g", false), ("gateways", false), ("other/gw/a", false),
        ("$aws/things/gw", false),
    ])
    func theDefaultScopeIsTheGatewaysSubtree(_ topic: String, _ allowed: Bool) throws {
        let scope = try PublishScope(filters: ["gateways/{gateway}/#"], gateway: "gw")
        #expect(scope.allows(topic) == allowed)
    }

    @Test func filtersWithOtherWildcardsMatchAsTopicFilters() throws {
        let scope = try PublishScope(filters: ["sites/+/{gateway}", "#"], gateway: "gw")
        #expect(scope.filters == ["sites/+/gw", "#"])
        #expect(scope.allows("sites/berlin/gw"))
        #expect(scope.allows("anything/else"))
        #expect(!scope.allows("$signalbox/x"))
    }

    @Test func anInvalidFilterIsRefused() {
        #expect(throws: (any Error).self) { try PublishScope(filters: ["a/#/b"], gateway: "gw") }
    }
}
