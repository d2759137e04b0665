import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// get, concat, transform and the Null/Undefined helpers.
struct FunctionsCollectionTests {
    static let U = FunctionHarness.U

    static let guideExamples: [FunctionCase] = [
        FunctionCase("get", [["a", "b", "c"], 1], "b"),
        FunctionCase("get", [["a": "b"], "a"], "b"),
        // The guide shows `get("abc", 1)` = "a", contradicting its own 0-based rule; index 1 is "b".
        FunctionCase("get", ["abc", 1], "b"),
        FunctionCase("concat", [], U),
        FunctionCase("concat", [1], "1"),
        FunctionCase("concat", [[1, 2, 3], 4], [1, 2, 3, 4]),
        FunctionCase("concat", [[1, 2, 3], "hello"], [1, 2, 3, "hello"]),
        FunctionCase("concat", ["con", "cat"], "concat"),
        FunctionCase("concat", [1, "hello"], "1hello"),
        FunctionCase("concat", ["he", "is", "man"], "heisman"),
        FunctionCase("concat", [[1, 2, 3], "hello", [4, 5, 6]], [1, 2, 3, "hello", 4, 5, 6]),
        FunctionCase("isNull", [5], false),
        FunctionCase("isNull", [.null], true),
        FunctionCase("isUndefined", [5], false),
        FunctionCase("Nanvl", [8, 3], 8),
    ]

    @Test(arguments: guideExamples)
    func guideExample(_ example: FunctionCase) throws { try example.check() }

    static let tables: [FunctionCase] = [
        // get: indices converted To Int; out of range, wrong key types and other collections Undefined.
        FunctionCase("get", [["a", "b", "c"], "2"], "c"), FunctionCase("get", [["a", "b", "c"], 1.4], "b"),
        FunctionCase("get", [["a", "b", "c"], 1.6], "c"), FunctionCase("get", [["a", "b", "c"], 3], U),
        FunctionCase("get", [["a", "b", "c"], -1], U), FunctionCase("get", [["a", "b", "c"], "x"], U),
        FunctionCase("get", [["a", "b", "c"], true], U), FunctionCase("get", [["a", "b", "c"], U], U),
        FunctionCase("get", [[1, .null], 1], .null), FunctionCase("get", ["€uro", 0], "€"),
        FunctionCase("get", ["abc", 3], U), FunctionCase("get", ["abc", -1], U), FunctionCase("get", ["", 0], U),
        FunctionCase("get", [["a": 1], "b"], U), FunctionCase("get", [["1": 1], 1], U),
        FunctionCase("get", [["k": .null], "k"], .null), FunctionCase("get", [5, 0], U),
        FunctionCase("get", [.null, 0], U), FunctionCase("get", [U, 0], U), FunctionCase("get", [true, 0], U),
        // concat: Undefined poisons; Null is an element in arrays, but has no string form.
        FunctionCase("concat", [[1]], [1]), FunctionCase("concat", ["x"], "x"), FunctionCase("concat", [.null], U),
        FunctionCase("concat", [U], U), FunctionCase("concat", [["a": 1]], #"{"a":1}"#),
        FunctionCase("concat", [1, 2], "12"), FunctionCase("concat", [true, 1.5], "true1.5"),
        FunctionCase("concat", ["a", .null], U), FunctionCase("concat", ["a", U], U),
        FunctionCase("concat", [[1], .null], [1, .null]), FunctionCase("concat", [[1], U], U),
        FunctionCase("concat", [[1], [[2]]], [1, [2]]), FunctionCase("concat", [["a": 1], [2]], [["a": 1], 2]),
        FunctionCase("concat", ["a", [1, 2]], ["a", 1, 2]),
        // isNull / isUndefined over every type.
        FunctionCase("isNull", [U], false), FunctionCase("isNull", ["null"], false),
        FunctionCase("isNull", [[]], false),
        FunctionCase("isNull", [0], false), FunctionCase("isUndefined", [U], true),
        FunctionCase("isUndefined", [.null], false), FunctionCase("isUndefined", [""], false),
        FunctionCase("isUndefined", [["a": 1]], false),
        // nanvl: Undefined, Null and NaN take the second argument; anything else is kept.
        FunctionCase("nanvl", [U, 3], 3), FunctionCase("nanvl", [.null, 3], 3),
        FunctionCase("nanvl", [.double(.nan), 3], 3),
        FunctionCase("nanvl", [2.5, 3], 2.5), FunctionCase("nanvl", ["NaN", 3], "NaN"),
        FunctionCase("nanvl", [false, 3], false),
        FunctionCase("nanvl", [U, U], U),
        // get_or_default: Undefined or Null take the default (Undefined when there is none).
        FunctionCase("get_or_default", [5, 0], 5), FunctionCase("get_or_default", [U, 0], 0),
        FunctionCase("get_or_default", [.null, "d"], "d"), FunctionCase("get_or_default", [false, true], false),
        FunctionCase("get_or_default", [U], U), FunctionCase("get_or_default", [[], 1], []),
    ]

    @Test(arguments: tables)
    func table(_ example: FunctionCase) throws { try example.check() }

    static let payload = FunctionHarness.json(
        #"{"attributes":{"data1":1,"data2":2},"values":[{"a":3},{"b":4},{"c":5}]}"#)

    @Test func transformExample1() throws {
        // select value transform("enrichArray", attributes, values) from 'A/B'
        let result = try FunctionHarness.call(
            "transform", ["enrichArray", Self.payload["attributes"], Self.payload["values"]])
        let expected = FunctionHarness.json(
            #"[{"a":3,"data1":1,"data2":2},{"b":4,"data1":1,"data2":2},{"c":5,"data1":1,"data2":2}]"#)
        #expect(result == expected)
        // Element members come first, then the object's.
        #expect(
            result.map { JSONSerializer.string($0) }
                == #"[{"a":3,"data1":1,"data2":2},{"b":4,"data1":1,"data2":2},{"c":5,"data1":1,"data2":2}]"#)
    }

    @Test func transformExample2() throws {
        // select value transform("enrichArray", {"key": attributes.data1}, values) from 'A/B'
        let object: Value = ["key": Self.payload["attributes"]?["data1"] ?? .null]
        let result = try FunctionHarness.call("transform", ["enrichArray", object, Self.payload["values"]])
        #expect(result == FunctionHarness.json(#"[{"a":3,"key":1},{"b":4,"key":1},{"c":5,"key":1}]"#))
    }

    @Test func transformExample3() throws {
        // transform('enrichArray', (select a, b from data2), (select value c from data2)), with the two
        // nested queries evaluated by hand.
        let payload = FunctionHarness.json(
            #"{"data1":"example","data2":{"a":"first attribute","b":"second attribute","c":[{"x":{"someInt":5,"someString":"hello"},"y":true},{"x":{"someInt":10,"someString":"world"},"y":false}]}}"#
        )
        let data2 = payload["data2"]
        let ab: Value = ["a": data2?["a"] ?? .null, "b": data2?["b"] ?? .null]
        let result = try FunctionHarness.call("transform", ["enrichArray", ab, data2?["c"]])
        let expected =
            #"[{"x":{"someInt":5,"someString":"hello"},"y":true,"a":"first attribute","b":"second attribute"},{"x":{"someInt":10,"someString":"world"},"y":false,"a":"first attribute","b":"second attribute"}]"#
        #expect(result.map { JSONSerializer.string($0) } == expected)
    }

    static let transformEdges: [FunctionCase] = [
        // A member of the object replaces the element's member of the same name, in place.
        FunctionCase("transform", ["enrichArray", ["a": 9], [["a": 1, "b": 2]]], [["a": 9, "b": 2]]),
        // Elements that are not objects are left out.
        FunctionCase("transform", ["enrichArray", ["k": 1], [1, ["a": 1], "x", .null]], [["a": 1, "k": 1]]),
        FunctionCase("transform", ["enrichArray", ["k": 1], []], []),
        FunctionCase("transform", ["enrichArray", [:], [["a": 1]]], [["a": 1]]),
        FunctionCase("transform", ["enricharray", ["k": 1], [["a": 1]]], U),
        FunctionCase("transform", ["other", ["k": 1], [["a": 1]]], U),
        FunctionCase("transform", ["enrichArray", [1], [["a": 1]]], U),
        FunctionCase("transform", ["enrichArray", ["k": 1], ["a": 1]], U),
        FunctionCase("transform", ["enrichArray", U, [["a": 1]]], U),
        FunctionCase("transform", [U, ["k": 1], [["a": 1]]], U),
    ]

    @Test(arguments: transformEdges)
    func transformEdge(_ example: FunctionCase) throws { try example.check() }
}
