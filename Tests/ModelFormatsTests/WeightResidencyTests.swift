import XCTest
@testable import ModelFormats
@testable import Transformer

/// When the weights are copied into memory, and what the automatic choice reads from Linux.
final class WeightResidencyTests: XCTestCase {
    private let gib = 1 << 30

    func testExplicitChoicesAreFollowed() {
        let none = MemoryEnvironment(hugePages: false, availableBytes: nil)
        XCTAssertTrue(WeightResidency.memory.copies(fileSize: 10 * gib, environment: none))
        XCTAssertFalse(WeightResidency.mapped.copies(fileSize: 1, environment: MemoryEnvironment(hugePages: true, availableBytes: 64 * gib)))
    }

    func testAutomaticCopiesOnlyWithHugePagesAndRoomToSpare() {
        let file = 4 * gib
        func copies(_ hugePages: Bool, _ available: Int?) -> Bool {
            WeightResidency.automatic.copies(fileSize: file, environment: MemoryEnvironment(hugePages: hugePages, availableBytes: available))
        }
        XCTAssertTrue(copies(true, 16 * gib))
        XCTAssertTrue(copies(true, 5 * gib), "exactly a quarter to spare")
        XCTAssertFalse(copies(true, 5 * gib - 1), "less than a quarter to spare")
        XCTAssertFalse(copies(false, 16 * gib), "no huge pages: the copy would be no faster")
        XCTAssertFalse(copies(true, nil), "available memory unknown")
    }

    func testTransparentHugePageModes() {
        XCTAssertTrue(MemoryEnvironment.hugePagesEnabled("always [madvise] never\n"))
        XCTAssertTrue(MemoryEnvironment.hugePagesEnabled("[always] madvise never\n"))
        XCTAssertFalse(MemoryEnvironment.hugePagesEnabled("always madvise [never]\n"))
        XCTAssertFalse(MemoryEnvironment.hugePagesEnabled(nil), "no such file (not Linux)")
    }

    func testAvailableMemoryFromMeminfo() {
        let meminfo = "MemTotal:       24576000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\nBuffers: 1 kB\n"
        XCTAssertEqual(MemoryEnvironment.availableMemory(meminfo), 20_000_000 * 1024)
        XCTAssertNil(MemoryEnvironment.availableMemory("MemTotal: 1 kB\n"))
        XCTAssertNil(MemoryEnvironment.availableMemory("MemAvailable: lots kB\n"))
        XCTAssertNil(MemoryEnvironment.availableMemory(nil))
    }

    func testThisMachineReportsItsMemory() throws {
        #if os(Linux)
        let current = MemoryEnvironment.current
        let available = try XCTUnwrap(current.availableBytes)
        XCTAssertGreaterThan(available, 0)
        #endif
    }
}
