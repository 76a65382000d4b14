// libsrtp 3 interface over libsrtp 2, for mediasoup's offline worker build
// (MegiLance).
//
// mediasoup 3.27 is written against libsrtp 3 (versatica's fork, which it
// normally downloads). Debian packages libsrtp 2 (2.5 on Debian 12). The
// cryptography and the wire format are the same; what changed is the API:
//
//   - policies are opaque objects built with srtp_policy_create/set_*/
//     add_key/destroy instead of a public struct filled in by the caller;
//   - srtp_create(srtp_t*, srtp_policy_t) takes that object;
//   - srtp_(un)protect(_rtcp) write into a separate output buffer whose
//     capacity is passed in, with size_t lengths (v2 works in place with an
//     int length and trusts the buffer to have room for the trailer);
//   - srtp_remove_stream became srtp_stream_remove;
//   - two new error codes (buffer_small, cryptex_err).
//
// This header gives exactly the v3 calls the worker makes, implemented with
// libsrtp 2. Limits, all rejected with srtp_err_status_bad_param rather
// than silently mishandled: one master key per policy, no MKI, no cryptex
// (RFC 9335) and no encrypted header extensions. mediasoup uses none of
// them.
//
// C++ only: the v3 calls whose names v2 already has (srtp_create,
// srtp_protect, ...) are C++ overloads next to v2's C functions; they differ
// in their parameter types, so each call picks the right one.
#ifndef MEGILANCE_SRTP3_OVER_SRTP2_H
#define MEGILANCE_SRTP3_OVER_SRTP2_H

#ifndef __cplusplus
#error "This libsrtp 3 compatibility header is for C++ (mediasoup's worker) only."
#endif

// v3 reuses the name srtp_policy_t for its opaque handle; keep v2's struct
// under another name so both can exist.
#define srtp_policy_t megilance_srtp2_policy_t
#include <srtp2/srtp.h>
#undef srtp_policy_t

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

// Error codes libsrtp 3 added after v2's last one (pkt_idx_adv = 27), with
// v3's values. libsrtp2 releases that already have them are detected by the
// subproject's meson.build.
#ifndef MEGILANCE_SRTP2_HAS_SRTP_ERR_STATUS_BUFFER_SMALL
inline constexpr srtp_err_status_t srtp_err_status_buffer_small = static_cast<srtp_err_status_t>(28);
#endif
#ifndef MEGILANCE_SRTP2_HAS_SRTP_ERR_STATUS_CRYPTEX_ERR
inline constexpr srtp_err_status_t srtp_err_status_cryptex_err = static_cast<srtp_err_status_t>(29);
#endif

// The v3 policy object: a v2 policy plus storage for the master key, which
// v2 expects as one buffer (key followed by salt).
struct megilance_srtp3_policy
{
	megilance_srtp2_policy_t v2;
	unsigned char masterKey[SRTP_MAX_KEY_LEN];
	std::size_t masterKeyLen;
	bool hasProfile;
	bool hasKey;
};

typedef megilance_srtp3_policy* srtp_policy_t;

namespace megilance_srtp3
{
	// Key material must not linger in freed memory; a volatile write cannot
	// be optimised away.
	inline void Wipe(void* data, std::size_t len)
	{
		auto* bytes = static_cast<volatile unsigned char*>(data);

		for (std::size_t i = 0; i < len; ++i)
		{
			bytes[i] = 0;
		}
	}

	// v2 rejects windows outside [64, 0x8000) when the stream is created;
	// v3 checks when the window is set, so do the same here.
	inline constexpr std::size_t MinWindowSize{ 64 };
	inline constexpr std::size_t MaxWindowSize{ 0x7fff };

	// Bytes v2 may append in place: the auth tag plus MKI for SRTP, and
	// additionally the 4-byte E flag + index word for SRTCP (see v2's
	// srtp_protect_rtcp() warning).
	inline constexpr std::size_t RtpTrailerRoom{ SRTP_MAX_TRAILER_LEN };
	inline constexpr std::size_t RtcpTrailerRoom{ SRTP_MAX_TRAILER_LEN + 4 };

	using InPlaceCall = srtp_err_status_t (*)(srtp_t, void*, int*);

	// v3 shape (input, output buffer with capacity) over v2's in-place call.
	inline srtp_err_status_t Transform(
	  InPlaceCall call,
	  srtp_t ctx,
	  const uint8_t* in,
	  std::size_t inLen,
	  uint8_t* out,
	  std::size_t* outLen,
	  std::size_t room)
	{
		if (ctx == nullptr || in == nullptr || out == nullptr || outLen == nullptr)
		{
			return srtp_err_status_bad_param;
		}

		if (inLen > static_cast<std::size_t>(INT_MAX) - room)
		{
			return srtp_err_status_bad_param;
		}

		if (*outLen < inLen + room)
		{
			return srtp_err_status_buffer_small;
		}

		if (out != in)
		{
			std::memmove(out, in, inLen);
		}

		int len = static_cast<int>(inLen);
		const srtp_err_status_t err = call(ctx, out, &len);

		if (err == srtp_err_status_ok)
		{
			*outLen = static_cast<std::size_t>(len);
		}

		return err;
	}
} // namespace megilance_srtp3

/* Policies. */

inline srtp_err_status_t srtp_policy_create(srtp_policy_t* policy)
{
	if (policy == nullptr)
	{
		return srtp_err_status_bad_param;
	}

	*policy = new (std::nothrow) megilance_srtp3_policy{};

	if (*policy == nullptr)
	{
		return srtp_err_status_alloc_fail;
	}

	// Value-initialised: no keys list, no header-extension encryption, no
	// next element, window 0 (v2's default of 128), no repeated sends.
	return srtp_err_status_ok;
}

inline void srtp_policy_destroy(srtp_policy_t policy)
{
	if (policy == nullptr)
	{
		return;
	}

	megilance_srtp3::Wipe(policy->masterKey, sizeof(policy->masterKey));
	delete policy;
}

inline srtp_err_status_t srtp_policy_set_ssrc(srtp_policy_t policy, srtp_ssrc_t ssrc)
{
	if (policy == nullptr)
	{
		return srtp_err_status_bad_param;
	}

	policy->v2.ssrc = ssrc;

	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_set_profile(srtp_policy_t policy, srtp_profile_t profile)
{
	if (policy == nullptr)
	{
		return srtp_err_status_bad_param;
	}

	srtp_err_status_t err = srtp_crypto_policy_set_from_profile_for_rtp(&policy->v2.rtp, profile);

	if (err != srtp_err_status_ok)
	{
		return err;
	}

	err = srtp_crypto_policy_set_from_profile_for_rtcp(&policy->v2.rtcp, profile);

	if (err != srtp_err_status_ok)
	{
		return err;
	}

	policy->hasProfile = true;

	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_add_key(
  srtp_policy_t policy,
  const uint8_t* key,
  std::size_t keyLen,
  const uint8_t* salt,
  std::size_t saltLen,
  const uint8_t* mki,
  std::size_t mkiLen)
{
	if (policy == nullptr || key == nullptr || (salt == nullptr && saltLen != 0))
	{
		return srtp_err_status_bad_param;
	}

	// One master key per policy and no MKI: see the header comment.
	if (policy->hasKey || mki != nullptr || mkiLen != 0)
	{
		return srtp_err_status_bad_param;
	}

	if (keyLen > sizeof(policy->masterKey) || saltLen > sizeof(policy->masterKey) - keyLen)
	{
		return srtp_err_status_bad_param;
	}

	std::memcpy(policy->masterKey, key, keyLen);

	if (saltLen != 0)
	{
		std::memcpy(policy->masterKey + keyLen, salt, saltLen);
	}

	policy->masterKeyLen = keyLen + saltLen;
	policy->hasKey       = true;

	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_set_window_size(srtp_policy_t policy, std::size_t windowSize)
{
	if (policy == nullptr || windowSize < megilance_srtp3::MinWindowSize || windowSize > megilance_srtp3::MaxWindowSize)
	{
		return srtp_err_status_bad_param;
	}

	policy->v2.window_size = static_cast<unsigned long>(windowSize);

	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_set_allow_repeat_tx(srtp_policy_t policy, bool allow)
{
	if (policy == nullptr)
	{
		return srtp_err_status_bad_param;
	}

	policy->v2.allow_repeat_tx = allow ? 1 : 0;

	return srtp_err_status_ok;
}

/* Sessions. */

inline srtp_err_status_t srtp_create(srtp_t* session, srtp_policy_t policy)
{
	if (session == nullptr)
	{
		return srtp_err_status_bad_param;
	}

	if (policy == nullptr)
	{
		// v3 allows an empty session that gets streams later.
		return ::srtp_create(session, static_cast<const megilance_srtp2_policy_t*>(nullptr));
	}

	if (!policy->hasProfile || !policy->hasKey)
	{
		return srtp_err_status_bad_param;
	}

	// v2 reads as many key bytes as the profile's cipher needs (key + salt):
	// a shorter key would be read past its end.
	if (
	  policy->masterKeyLen != static_cast<std::size_t>(policy->v2.rtp.cipher_key_len) ||
	  policy->masterKeyLen != static_cast<std::size_t>(policy->v2.rtcp.cipher_key_len))
	{
		return srtp_err_status_bad_param;
	}

	policy->v2.key  = policy->masterKey;
	policy->v2.next = nullptr;

	// v2 derives the session keys here and keeps no pointer to the policy, so
	// the caller may destroy it right after (mediasoup does).
	return ::srtp_create(session, &policy->v2);
}

inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	// Both versions take the SSRC in network byte order.
	return srtp_remove_stream(session, ssrc);
}

/* Packets. */

inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, std::size_t rtpLen, uint8_t* srtp, std::size_t* srtpLen, std::size_t mkiIndex)
{
	if (mkiIndex != 0)
	{
		return srtp_err_status_bad_mki;
	}

	return megilance_srtp3::Transform(
	  ::srtp_protect, ctx, rtp, rtpLen, srtp, srtpLen, megilance_srtp3::RtpTrailerRoom);
}

inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, std::size_t srtpLen, uint8_t* rtp, std::size_t* rtpLen)
{
	// Unprotecting only shortens the packet.
	return megilance_srtp3::Transform(::srtp_unprotect, ctx, srtp, srtpLen, rtp, rtpLen, 0);
}

inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, std::size_t rtcpLen, uint8_t* srtcp, std::size_t* srtcpLen, std::size_t mkiIndex)
{
	if (mkiIndex != 0)
	{
		return srtp_err_status_bad_mki;
	}

	return megilance_srtp3::Transform(
	  ::srtp_protect_rtcp, ctx, rtcp, rtcpLen, srtcp, srtcpLen, megilance_srtp3::RtcpTrailerRoom);
}

inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, std::size_t srtcpLen, uint8_t* rtcp, std::size_t* rtcpLen)
{
	return megilance_srtp3::Transform(::srtp_unprotect_rtcp, ctx, srtcp, srtcpLen, rtcp, rtcpLen, 0);
}

#endif
