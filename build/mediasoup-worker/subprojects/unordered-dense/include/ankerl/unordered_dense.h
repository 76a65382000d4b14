// ankerl::unordered_dense for mediasoup's offline worker build (MegiLance).
//
// mediasoup uses Martin Ankerl's unordered_dense hash containers, which no
// Debian release packages. The worker only relies on the interface those
// containers share with the standard library (find/emplace/erase/iterate,
// the `hash<T>` functor and user-supplied hashers), so this header maps
// them onto std::unordered_map / std::unordered_set. They are slower to
// iterate than the dense originals but behave the same for every use in the
// worker; iteration order is unspecified in both.
//
// Not a general replacement: the dense containers' extra members (values(),
// extract() of the whole vector, replace(), segmented variants) are absent,
// so a future mediasoup that uses them fails to compile here rather than
// misbehaving.
#ifndef MEGILANCE_ANKERL_UNORDERED_DENSE_H
#define MEGILANCE_ANKERL_UNORDERED_DENSE_H

#include <cstddef>
#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ankerl::unordered_dense
{
	// The standard hash covers every key type the worker uses (integers,
	// enums, pointers, strings). The original returns a 64-bit value; the
	// standard containers want size_t, which is the same type on the 64-bit
	// targets mediasoup supports.
	template<class T, class Enable = void>
	struct hash
	{
		std::size_t operator()(const T& value) const noexcept(noexcept(std::hash<T>{}(value)))
		{
			return std::hash<T>{}(value);
		}
	};

	template<
	  class Key,
	  class T,
	  class Hash     = hash<Key>,
	  class KeyEqual = std::equal_to<Key>,
	  class Allocator = std::allocator<std::pair<const Key, T>>>
	using map = std::unordered_map<Key, T, Hash, KeyEqual, Allocator>;

	template<class Key, class Hash = hash<Key>, class KeyEqual = std::equal_to<Key>, class Allocator = std::allocator<Key>>
	using set = std::unordered_set<Key, Hash, KeyEqual, Allocator>;
} // namespace ankerl::unordered_dense

#endif
