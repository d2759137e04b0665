import SignalboxJSON
import Testing

/// `JSONObject`: document order, lookups with and without the key index, removal and equality.
struct JSONObjectTests {
    static func object(count: Int) -> JSONObject {
        var object = JSONObject()
        for i in 0..<count { object["k\(i)"] = .int(Int64(i)) }
        return object
    }

    /// Sizes around the point (12 members) where the object starts keeping a key index.
    static let sizes = [0, 1, 11, 12, 13, 14, 50, 300]

    @Test(arguments: sizes)
    func findsEveryMember(_ count: Int) {
        let object = Self.object(count: count)
        #expect(object.count == count)
        #expect(object.isEmpty == (count == 0))
        #expect(object.keys == (0..<count).map { "k\($0)" })
        for i in 0..<count { #expect(object["k\(i)"] == .int(Int64(i))) }
        #expect(object["missing"] == nil)
        #expect(object["k\(count)"] == nil)
    }

    @Test(arguments: sizes)
    func replacesInPlace(_ count: Int) {
        var object = Self.object(count: count)
        for i in stride(from: 0, to: count, by: 3) { object["k\(i)"] = "replaced" }
        #expect(object.count == count)
        #expect(object.keys == (0..<count).map { "k\($0)" })
        for i in 0..<count { #expect(object["k\(i)"] == (i % 3 == 0 ? "replaced" : .int(Int64(i)))) }
    }

    @Test(arguments: sizes.filter { $0 > 0 })
    func removesMembers(_ count: Int) {
        var object = Self.object(count: count)
        object["k0"] = nil
        object["missing"] = nil
        #expect(object.count == count - 1)
        #expect(object["k0"] == nil)
        #expect(object.keys == (1..<count).map { "k\($0)" })
        for i in 1..<count { #expect(object["k\(i)"] == .int(Int64(i))) }
        // Remove down to nothing, checking lookups at every size on the way.
        for removed in 1..<count {
            object["k\(removed)"] = nil
            #expect(object.count == count - 1 - removed)
            #expect(object["k\(removed)"] == nil)
            if removed + 1 < count { #expect(object["k\(count - 1)"] == .int(Int64(count - 1))) }
            if removed + 1 < count { #expect(object["k\(removed + 1)"] == .int(Int64(removed + 1))) }
        }
        #expect(object.isEmpty)
    }

    @Test func removingFromTheMiddleOfAnIndexedObjectKeepsPositions() {
        var object = Self.object(count: 20)
        object["k5"] = nil
        object["k12"] = nil
        object["new"] = 99
        #expect(object.keys == (0..<20).filter { $0 != 5 && $0 != 12 }.map { "k\($0)" } + ["new"])
        for i in 0..<20 where i != 5 && i != 12 { #expect(object["k\(i)"] == .int(Int64(i))) }
        #expect(object["new"] == 99)
        object["k5"] = "back"
        #expect(object.keys.last == "k5")
        #expect(object["k5"] == "back")
    }

    @Test func appendUniqueAcrossTheIndexThreshold() {
        var object = JSONObject(minimumCapacity: 4)
        for i in 0..<30 { object.appendUnique(key: "k\(i)", value: .int(Int64(i))) }
        #expect(object == Self.object(count: 30))
        for i in 0..<30 { #expect(object["k\(i)"] == .int(Int64(i))) }
    }

    @Test func initialiserKeepsLastValueAtFirstPosition() {
        let object = JSONObject([
            JSONObject.Member(key: "a", value: 1), JSONObject.Member(key: "b", value: 2),
            JSONObject.Member(key: "a", value: 3),
        ])
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == 3)
        let literal: JSONObject = ["x": 1, "y": 2, "x": 3]
        #expect(literal.keys == ["x", "y"])
        #expect(literal["x"] == 3)
    }

    @Test func iteratesInDocumentOrder() {
        let object: JSONObject = ["z": 1, "a": 2, "m": 3]
        #expect(object.map(\.key) == ["z", "a", "m"])
        #expect(object.members.map(\.value) == [1, 2, 3])
    }

    // MARK: Equality

    @Test(arguments: sizes)
    func equalityIgnoresOrder(_ count: Int) {
        let forward = Self.object(count: count)
        var backward = JSONObject()
        for i in (0..<count).reversed() { backward["k\(i)"] = .int(Int64(i)) }
        #expect(forward == backward)
        #expect(forward.hashValue == backward.hashValue)
        #expect(Value.object(forward) == .object(backward))
        #expect(Set([Value.object(forward), .object(backward)]).count == 1)
    }

    @Test func inequality() {
        let base: JSONObject = ["a": 1, "b": [1, 2]]
        #expect(base != ["a": 1])
        #expect(base != ["a": 1, "b": [2, 1]])
        #expect(base != ["a": 1, "c": [1, 2]])
        #expect(base != ["a": 1, "b": [1, 2], "c": nil])
        #expect(base != ["a": 1.0, "b": [1, 2]])
        #expect(base != ["a": true, "b": [1, 2]])
        #expect(JSONObject() == [:])
        let big = Self.object(count: 20)
        var changed = big
        changed["k7"] = 700
        #expect(big != changed)
        var renamed = big
        renamed["k7"] = nil
        renamed["k7x"] = 7
        #expect(big != renamed)
    }

    @Test func equalObjectsHashEqually() {
        var a: JSONObject = ["x": 1, "y": ["nested": true]]
        var b: JSONObject = ["y": ["nested": true], "x": 1]
        #expect(a.hashValue == b.hashValue)
        a["z"] = nil
        b["x"] = 1
        #expect(a == b && a.hashValue == b.hashValue)
    }
}
