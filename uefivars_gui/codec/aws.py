"""The AWS "uefi-data" variable store (EC2 ``get-instance-uefi-data`` / ``register-image``).

This is the format of awslabs python-uefivars (``uefivars -i aws``) and of
virt-firmware (``virt-fw-vars --output-aws``). A file is base64 text (no line breaks as
the peers write it) of this binary container, all integers little-endian::

    0   u64  magic, the ASCII bytes "AMZNUEFI" (0x494645554E5A4D41)
    8   u32  CRC-32C (Castagnoli) of every byte from offset 12 to the end
    12  u32  version, 0
    16  ...  zlib stream (RFC 1950, level 9) compressed with a preset dictionary

The decompressed payload is ``u64 count`` followed by ``count`` records::

    u64 NameLength, Name (UTF-8, no terminator)
    u64 DataLength, Data
    VendorGuid (16 bytes, EFI byte order)
    u32 Attributes
    only if Attributes has TIME_BASED_AUTHENTICATED_WRITE_ACCESS (0x20):
        TimeStamp (EFI_TIME, 16 bytes)
        u64 DigestLength, Digest

python-uefivars writes records in store order and an absent digest as 32 zero bytes;
virt-firmware writes records sorted by name and an absent digest as an empty one.
Neither stores a timestamp or digest for variables without the 0x20 attribute.

Error offsets: in the text while un-base64-ing (``what="AWS base64"``), in the binary
container for the header and the compressed stream (``what="AWS"``), and in the
decompressed payload for the records (``what="AWS payload"``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import struct
import zlib
from uuid import UUID

from ..core.attributes import AT, Attributes
from ..core.crc import crc32c
from ..core.efitime import EFI_TIME_SIZE, EfiTime
from ..core.fields import Field
from ..core.guid import GUID_SIZE, guid_label
from ..core.record import value
from ..core.store import VarStore
from ..core.variable import Variable, VariableKey
from ..errors import DecodeError, EncodeError
from .base import StoreDocument, StoreFormat

AWS_MAGIC = b"AMZNUEFI"
AWS_VERSION = 0
AWS_HEADER_SIZE = 16
#: Decompressed payloads larger than this are refused (a decompression bomb guard).
MAX_PAYLOAD_SIZE = 64 * 1024 * 1024
#: The compression level both peer tools use.
DEFAULT_LEVEL = 9
#: What python-uefivars writes for an authenticated variable without a digest.
UEFIVARS_EMPTY_DIGEST = bytes(32)

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_HEADER = struct.Struct("<8sII")
#: The smallest record: two empty length-prefixed strings, a GUID and the attributes.
_MIN_RECORD = 8 + 8 + GUID_SIZE + 4
#: base64 of the magic: the first ten characters depend on the magic alone.
_ARMORED_MAGIC_PREFIX = base64.b64encode(AWS_MAGIC)[:10]
_WHITESPACE = b" \t\r\n\v\f"
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=\s]")

# The "v0" preset dictionary of the format (11381 bytes, SHA-256 below) as published
# with awslabs python-uefivars (MIT licence, Copyright Amazon.com, Inc. or its
# affiliates) and shipped identically by virt-firmware as ``aws/dict.v0``. It is part of
# the file format: a stream compressed with it cannot be inflated without it. Kept here
# zlib-compressed and base64-encoded.
_ZDICT_V0_SHA256 = "b6c4f52acbb0ab9aa415290e6c223af871eaa3d430c96b8116899d994681535b"
_ZDICT_V0_PACKED = (
    b"eNrtenk8VPv7+JnN2MeWkm0o+3aMLUtF9pB9ayUmM7axjC2yJURKkkJFkStlSakUFymRm0hJ26UQhSghKb7nzEz3aq5ufa5/"
    b"fn/8zryOM+8zz/N+v5/n/ewPrUJwhM/oC7soj+xJAEgq6zvVHqykYHFX7ILIbERzFGb248fJaYQhRhZgQSW86nCTtWAJA9Cx"
    b"9Wh2EW4WHlZ2NgxWHYtmx6GwbJxYNIaFdV+DmzvJDM+GRQWe1nuUdBzRDay2xUnyWtpyIhEAEA9INF9zI5EAABoAaOhmhW6k"
    b"OIqPHXrOzwMV0MO9pz/17pEHvCVcQO9xlMIBQ4AC+APWQAhAhYERnEC7AQqGBxAIFgAQp79BYAAEiksP+MVLH0haylI4xBKQ"
    b"x5aysoKcyylS1B7z/DYi8DVP+KhiuaLn3Pz8fC+OTti8MqjIgnJEo/ilrMgeQZRgyi4q3pns70kJC8bbBFE8QzyoZIo/3sbQ"
    b"AE8AVVXBeIQkyMXCJp9oljjNhWBnnAvz/iwBd2h/XtAvRH8v6KRKHNcDWGAlNEYtAm0D+ELwVGAXRFUQ4AcsxIaQGdiy0BgL"
    b"3YJdphZdxXbGJ43+KFXGWc6YQ7BkCJsMYfkCBtA3KkCEZgmAntbQfJ7QKIiGzbIkbMySsFH/GRu6JAZijpQdXWm1X86s5gl7"
    b"50oNgABoAOoACH1Uoe9q0HcNQBMYirmELpviMKt9pPXkwPb9JU7QxEGAMXQH0VhrQmO0F015Shz1IHYmn2ifvnJr9yPoBzK0"
    b"GjfjPP0Hfn/yPOSJ+eXHVeoSOI/dHrSdUKEd7WRA0CdYBQ0Q8gAS3mR3DYomUnj6g1IrvZy9bJi3/I9KChpp3ISUZWD+Ny7w"
    b"qTvBS9oALhA9oYAhJPowVUQIGVIBZwjbH4KkAGFAMMD7MMcESJdZ32AFLZe8iMDROfIL6oOszfkc5ooiWNW6yX4cPBRuwcKh"
    b"wIJAI+K11qJgXnktRTehba75tk3YwDGvBdhAM8Hn4gFEAErJvJ05ggzw8nKYkUiAIjnytqBlt2mx9Is7gvfq+2Duw6xnfg2r"
    b"DQKCR0EHgIHUgPfBQW0gv4UcpFvLvChqBRqImUcDmy6wxvHmuVrt43610k7RtRKa2Bawokkc/IGJN18KZ8FFCI69/ISsWseF"
    b"/Hq4SEyow1q00O61X6X+gWI3KwPxDGIe+wJ4LFDiuJZG179dfNDtssguNyxfoAL/fsGEVjJP4fPDY4eF+cd0o2iqESMPytJt"
    b"rsTfNteQEhRACXKnGVsLYwv84vYWAXEONbG01elayMx7C5qW+UN/fYEdAKAF0GVSEdI2E2hePG1uKgMIVlQ8YA+QaOC+sGJj"
    b"BYCW2mtRw5/UrUveruNeZIvwChF/CRDdrdo+PpYHAJyM04CtPKTb6tDcspCsGUBargP8yNbJLUYpEsUhBdg5wNYCgPZHhm4q"
    b"zbWEQGaBTtFfC/3rJQ38CptsAAsI5rRr/dn+zN82JlWdX7ZVYTyonW4AgcuofzIBjEflg/HI5HwUEoFEsgFzk8lDE1n176Ez"
    b"rl7ase5eGroWQZVAUNfYvJyLoAlqEqChGjwE4+JUOUA2WFxZ+JGO9qr8IC88YOVnd3YPJpH9vagUf1UekBt+ieXH2hE9/Sj+"
    b"nqpioAj8hh06Ts2lHScBBOnKIve3sthRKJDGEIOo5F1kD3cqEW8QQiVRgsjUCFhpQFBsOZcqpDuq2qpr1FXVCTSi6EMNeAjG"
    b"JTCIoi7ULQ5It+KhuFPgS1Sg7dmIm/6VY9rravTscP4K63n4g+eKSe1mRepWKVkY6XeqJunuEV2wofwVaeKhWet/nE/j0o5M"
    b"4AfB1wZoCgpzCAHJPn2nggw94BwJrZcNyDbMDwp8t9UoNc+QpiNUCNMPOiwKDRNWF9hI0jFgfNRPKFWEbli589BClloGnVYn"
    b"eFKPFa//+tmK5tLhGCQCcIDuAGgME/kt5HOnBQAUGtkwvbHQzcbgHMAYY+hk0MI4+MkIYQF4hyjg0ZRT66GhM1t3kjrWZqZv"
    b"edyWs+IW6ASdsag42hq0Ai3yzfNNE41JVGqAjoqKR5Cvst83eVL2oPipBPiQ4bcqAfSgN1gFEjdIziApg4RrByxWSqCmEkFN"
    b"GQICN7OwQnEABoNFINCbQEtw47cxiExcx1giLCzsuyVgKye5tBOHxO3XvdY/3TMKxwGH0/MoBCIGgQYQaAEgd/PmxG3XLE0T"
    b"HIkdvydYvEJx8zPPhWIXAOxNG3p/T1N4P58Vmmp5bp+MKXaLtQ1dpgFgh4mT2fwcGjADhGZgGvDAgoODrnDFiZLIzBzD07HK"
    b"ApsawzKu9QDA5rmFZ/fv148k9v1Sgi+YsG+03kQwvMKqn+xkJWMnvf3B6SNu/hbZKEtJPWmcnhMtDvWkyTLdzQUDmyDTR9ef"
    b"n2uNJGPeOxwF46zlTsbZtwAethYdI3toLg9apEsEvmm1Mc3/7oT8D6yfCNr8AD1L+jkrZRmG6L9mIq2VQo911mYZF9Q8bef2"
    b"IlLgfCAcdpeCtxosbTL0L5wzmNE8YihryVgPNgUFxdfzRdHFZjVJjX58wtvX9lXc2nD8i4hAzuzH5mxK9WqZMoN+z9wjloVH"
    b"s4XD7a45Ms/FyjBzvPoBw0iBTt6DYfTQ1QoyJIZ/maZfox2xBNoRjEz0Z+vAZlkI2rCxOcHVaITL8uK9kxe1e7Cc38+Mh7zf"
    b"Ihfi2xcDKpXoF0DFqwKTKnsLPp+Y7crABcmuftaPMlZ/sGUfdrWP7tE9F/yF23Yzhyi3n3SfTnzVrMRWXiJPiVEOTuJa5zmt"
    b"uIl1zCvCOwGH+0fEv3Ik4ZqFL/EsH/7c74FxWXagBNfOrk49s+wTPnKbFdhZmOEbz+WYcBV65js3uvjtbZv8WMZ6lUc7YnQ/"
    b"gao0PmrPuYsZ3mU2c+XY0TOuhpdmd0jx5Pes77d0adnOfg2dJBdCOn8skBne/nDjmVleCWRRidhzqbKwl3nbKGz32N5V2mRL"
    b"1t1zzXjLDN8lvSxa1DswtWH1+bQzUTeIWMV8nUgfqT21rbVuU9snOr6Dp1nQXzahTcwWhubvf44Lm/rLi1gnWUYJ6z+LIBKF"
    b"xrBgWeli+ILzxpl+Zba+wdvTWeQaQKKWrKY2VopudYh9x7L3xm18wpPpB6kTayrOF5YqRe2MwMz3bVyP1sAH9N0a9Ok9Ua8Z"
    b"8iZF9UVawMBzrSqqSZbsliS3VYp1z03Pek3bypwKGsYWtVSL6dprRA10jshUJ4nMVbesYqMUmxxu8M/SM+hsLVi/DeltNUIW"
    b"l5Ldqjn/1XAZe2av0OX7PTf5Xt3cIvNOJhxM3SLP5iO5395NULGeJGp/fcR84qT7gX0ktmCjbXvOOCi8iJhedl9jm6+Iwta2"
    b"mhOrUin+VdJPNPkbrbtkyqoJugYZii/v3AsbKnHYNL2VA51EvGy4oriy108obGTz6s9mKCQKASAK4hGGUJK0HuRhYWOk5ssQ"
    b"aCi6BkBR2PlzowXRAufkkNoHBW8dC7+XPnPKOudllGO5PSj0F4IAEs0pxg7lCiGQOTMEDEAOGBOHhqdJBHG3hqpS6kqdpSuk"
    b"G98OzjrvNkJuw3I93ThAlX9dgRvxGx6Jqe7b7EGI4l1uzd3H8duaZUcONk32JlzMyVUcnLx6uIvt5at6dPEFUKTHbILFJsfz"
    b"N9uY5n3Wh/CJbXMqL/Pm4+tH39xr+2jvvVOHw7D6ldTXOczMw1sC53lfrdqfFnC1UNRqpGzgxGfBm48bWh8O3VIZyH63OhU1"
    b"kvYh9W3jxllDXj6O6CrTDN/nr9H7hyfV0MM8CPnAgZm9/HrzUmwqpFCT+evWvz8vDZR3KZnlfhCxtj+XqPuHnHzelyDXM8Nl"
    b"GWNTGvyxTciR/h1/nAy9N+aR0VAeoZ8QkRTTZ1c8dDISSz607BufrSE+W/wrn3d+MbyXv66w1YvvwZYnjhci/7iSsuPX+QwP"
    b"+BGIeTQGhCKUeVCcBdbWX9XVjH/qmwbrhnnwj7bpUM5SHpKLhpwJIVQmaozPQGaD8MYSv7g1Zq78jhNvXNSLBDniS7aVxj+N"
    b"3WvAcuiy6AdU9cTKbcLvbdJnLjkmbJAVwddWltkK3K6/cOyohEj6M9yXsFNHgw8n362ttavG2HD1OJ/Kdx/lGvCTeqKPW67f"
    b"3Faw8aZVeQ6fKKvDodo7NdUKa80VxAlfvCXI1rnN0RvUv2iyLE89hNevv5QjFSJzrwVVMLWtY1DTYXe1TVUnXwe27ga157nY"
    b"odhHoys+qggI+qj8uetAxaqBOwndo28b1OJLnSxWKL0nHcXeuz8eNF5240XivuOKEpZqCuO4jeOkpKoMR0LIae94b70CKd7C"
    b"0dLH6LLWbn3X/ISOo5Y7D0uupIoeWGvKbVTUX5GrrnHx8xX7YsW4kUJMYPPJa9eHhI129Zs6cB90irmUJ3i8MrGdtC59VZXK"
    b"9kM2+9Ka0uJ3GJz+qMzVm/3AN6T/CrlKIvEztmPqlVXH01LFMHsxKYLWHV+7oKOJFe813L2FJit142ycighKc2f2z2xIlFnh"
    b"eDr+7ubcT+BxB4Ei0ywplWbpfoPMlVuR6wey+vZt0Vu3/oapYJDjKynJi08iB1Es8gXTYukmjQBXl9D+Pm4NmZ2owGVFY+0y"
    b"+fmuWm6f1mRe6w0P+HTdMjEpc6q3DGn8jnjzSkE0WTAEm5E7WVTjuteFYellFkhKP5aNh0cT8530sAJMmfjCjBC0VVUA5egZ"
    b"qCSU3eLN3Kl4e6JHSBARvwFOQ2VtLFTggo0PMQKvKqcqCeL/wmdDCPIHEz3cfaFMVT+I6Elyp6UatPRUXRVUg3JUVQ01LSg9"
    b"VdNSBQkajOH3S/5avQKudK37l1zw77ILGwLO0hwhX2MA+ZcAeu3mYULypEDmCuRdeb1Z+QwRzsf5He+H7HYVvztTFbI7HShR"
    b"Kgzd/DbiarWWt20kj+fUS88PSK/fp4uFw2uvtyW7eHJ2OTcLFezAdD1raie3mVkQrg5vewBO1k9eux6OLVCYy32m7pQwEn+3"
    b"zEAq4ITPm7l03OMs8YHBTPFKec40i3lZOZ7I6cdRZztCqzHNEaO49IwTN+d6KNG+uMiHDcYv1G2ztHED2526V2CyPmKLNlzK"
    b"D/vKKvQh0OmPvMRVhUmtRV9doh+SvZYdjo77EMM/wJWaopeUMNzXVms4UKqUcOSgt8LmKKPPdiVxzUoiN3rtegDeTzlrG9wq"
    b"XqpVFSR3EIXYVw5eiCpsiE/atOaiCtdtgSTK1zTlGu0rg68be/vvySSMZW4Yk0tNNzHQjRP26p4xdCW2ctV8BTKsP4bo/nZu"
    b"9RcbA/2IXiVrdm+ZUH+70SxyZDluOgnTbnyz1F4gTnwWRJdoabo/3UgWVu8mjXYh7/tmcnbe95WMKL04XoM6Y+J27hb2pkT8"
    b"+68fhiIIbnXdF85KCljcbei2GN6z3lmj8rV1yOUKN5SkfdnhCNGuXAPxZYkOAZV/cmngoirUg64fc9Mdjxg+Uymy7YzgtaTb"
    b"b4Snqo5JUdbk9R3+nBJxvJHMfbVABI859umuQBnw+NZEvQBPiI96vnBVttvE1orbzps0HxAS6k7BIvYzNYHT7vbvS1rtHiOy"
    b"U9HX7d97KtXtmVdrKpB/kZjnxj8nqKxIeN864Mccqsk1Ddtd1tM5narYPepf7BY1pvf55fU5XmLI1g+vBRI2GjHDp88OcpO7"
    b"1PTT1i3nJBGeVT5g65WRkum5stb8wdGgoo+WzPA8lAtv74983QTqUj/G5scef9Ueq3CEcvAOtU1iQjCRdIIZfvkmHY4thk1F"
    b"2Bud+tYYdbG197V3erVlfqriVl517mkGJzO8QvZ96Q3KGXOaO+osGrlkWH1PvbTYTZk3mlXxSUeQs7WZ4ZUDDnslFk0H24r/"
    b"tkL8PE40oMq5iaB8blVlcWe1gm35Hmb49W25eT3rxk862FXMbO+Pu3l13I+qExwR6HgwgN+7bV0wM7zpH6zuMq9YchJ7dXzG"
    b"FB/yfLq92c/nmaYEqVFYsU9+cw8zfOCHdMoDSfNohwKTnedXH/vSzIMPw03yk970Palr/eoRwgwf/0y37fIUq2HbyWONHUn3"
    b"cl0N7q0d4uF2oSg8ddJy3uHFDJ/SZeb6/mjVZFp5SSaHt7vXha7dyf6HTI54Lg+SuO1qXM0Mn3bwzP77g+wi2PPBxFbZd7aj"
    b"nXofbPyGkmdLu7jrYs1EmOHLhstUbWX4gkePlih78WqPqp7b5wXqqEke/6TFdu7R5tPM8LfYai+YhpR2P8sokay6umL2QOZp"
    b"E0XxN4WC1dtS1JJvfmGGb1reUHzxnXyciGxVsbDl3sctqVs4ZWRF3ZHY4dcZN7NimOFbcGq7ll8bnNl7zIG/5dh7juBh6Zju"
    b"05zVfbV1TV7nn6Uyw3s6b3nCF56jLFDqNKUublfu84lzxggIdw15M75JyfOxMTO88Z3mshD2+zfMvmjZ7fHke+FpVdZ9WO9e"
    b"yuoWq31kr56DjFQDiVhSVQmB/hGE7089iiojZ8VDHuVbp8AW+mYFjfGAEeAE3UqAHZTFWH3XQVKFPvhFtkZv7mPg5v6ibahf"
    b"y90EGObqVyujSFr9Zwn9pO94Qlha76S/nCh4Gs0iAOw9i45ad0rEupTYa0dqv9yxsPxHr/v8isk25Vy8bPPPvgWWhY41jPln"
    b"3wOMxzwG41F19L4Fuzs21IkeOzGHS3HJS+kX/H+B+39V4MC4w0tqBPEvW7TXqaoLatMjXcLivVAHEjnIE2/jHkSNwFu5B/kQ"
    b"qQG+7h5EWguI3ucBNQnqBFBdlaD9rXkFDTXgIRgXu6Q9/68F8pkHvDmc9Bb9QtbhHY1NzP+toRuPwAHQe3ZkPAIBnGX1tbxj"
    b"zOZtwVlYnxTDEsJpiHDw7BWMwY5m7OGoDK7jZG/aaOyef1tQKatzUiF/1so81yA2Xa/a4evrmo6TtwpXpMQYpGx13Usi3Dhg"
    b"2vIusEbCOiclat5ofdohQqW0WVlI1bsWS7GNQtH98Tmi4WFWnBW1U7hOwc6azwpnbddsm5y9/iwc+Wx+hF0469Hea0L8b67U"
    b"R+pHvhSXlWn5POa0XeR1dGZ0/bhRZYT2wNPKnalWdWsCXpFWC7SoFbJqPXIhb++MGm1A27MObqqQT/Jgdad4LHN9W6kQ8ZjT"
    b"3Stly9ftpUkx1xO9rANd+CTRkpJtqWMOgUCbjYZL6FHWd94XzyAefas2hEIcCQL5FlYbMLTfwFV/v0PCVYdPDT5XY8LsN05I"
    b"aYluOi0dicMHxC4oSvCX1hmy1cYHnDjwyFrV/5Hk8RThh0spSkAvVqFXgIKxAsa77AxfRrvw1nVtOrXKkVVXR9K7GNxKbzk5"
    b"gvagbb51vlWixf/UcoJkHxJ5SN4hYYdknN54gntPGrTGk9uCxpMDaAfaLGg8Gf2g8cRYCEpCf77CIg3RJRRgfvXfQf4ny/nt"
    b"n1i+JcY/U6h08YTItJrhY9LxfsnnU1oOkAJmeiywlVp7OZDNXiTwVN/4ePbGa67OTQZTa1Lndlmav9HSylA+jhDbImDzujhN"
    b"imsy8fV5sFVf8G1aqmBigKHWh7b6wz2BAgezufdfsfRbLXagX8Vaqv06y6emIaEVocGicX7F3Zj7Os2Rss2aBYJccgeyc0jP"
    b"z9dbpdVtvqFwTtsCfUxkRvPGbZ1EdFn5w/jI3vN/mmNIX6bKSCt9062chfQ8d6Gm7tjlTmfeP+J9mtRScj/bp6ZkO+ugtsj0"
    b"J9x1luj3rUOhL+Ykn5bqbN+i/vZSS68VWi76mls1ZqzqyXIXJ0G3apAwrrmx8UNEGp9+wARdoSLBCJolFOVHIyGfocjC5pZo"
    b"hkj8tAHBhRYXFLUOIPrb21viTYn+RMjyEj0XttcXKJPeG7e+eaHT7JEFGz6mbVC+/OhE0Mh3OrEoALNMQaey1Soj+XL8DtHS"
    b"VN6RHpai3WcV8rQcOdP8MUDpVU6D/eT7XUSWXNvwB6V36k48xwTHDIpp819+ewXcox9y/oQhR0/FTeE6sPfjXP2znRLHp26X"
    b"/6lrbc7+WmwmsWI9V9dDE61nDtTt87w33ZoCXG6LUEYqu/0pjTVqSWsKJ4w8T6jrymZKh8vkCS4f0iWzS50L1ow+pbV1ZGj9"
    b"s8MzfJfWtg2+WNZYdgCDd889+mdu+eeLW0UGjg02qvPum0yRkS4M0BzhnNq7Nn1ac2JmYtnD9J2/218u7zQvH/sYPBQZ2m8k"
    b"r3U9rjCbU0d1dWB+f//Vla2m/SWS98dC3GP7DK+aOQfzrg3PJTMHXysYwdeXxYOvISj4av8WfLF3JNMdD4OxrAjEoj7ox4G9"
    b"AQKDYOqA0qK5hRP9cuW1Yyn/B/azXTz4P2u32fc="
)


@functools.cache
def zdict_v0() -> bytes:
    """The preset zlib dictionary of format version 0."""
    blob = zlib.decompress(base64.b64decode(_ZDICT_V0_PACKED))
    if hashlib.sha256(blob).hexdigest() != _ZDICT_V0_SHA256:  # pragma: no cover - corrupted install
        raise RuntimeError("the embedded AWS dictionary is corrupted")
    return blob


@value
class AwsOrigin:
    """How a decoded AWS file was written, so that saving it again changes nothing
    that the user did not change.

    ``raw`` and ``variables`` are the file as read and the variables it held: encoding
    a store with exactly these variables returns ``raw`` verbatim (whatever zlib build
    made it). For a changed store the other members reproduce the file's style.
    """

    armored: bool = True
    #: Width of the base64 lines if the text was wrapped, else None (one line).
    line_length: int | None = None
    #: Line separator used when wrapping.
    newline: bytes = b"\n"
    #: Whitespace after the base64 text (``b"\n"`` for ``virt-fw-vars --output-aws -``).
    trailer: bytes = b""
    level: int = DEFAULT_LEVEL
    wbits: int = zlib.MAX_WBITS
    #: Digest written for an authenticated variable whose ``digest`` is None:
    #: 32 zero bytes (python-uefivars) or empty (virt-firmware).
    empty_digest: bytes = UEFIVARS_EMPTY_DIGEST
    variables: tuple[Variable, ...] = ()
    raw: bytes = b""


# --- probing and un-armouring ------------------------------------------------------------


def probe(data: bytes) -> bool:
    """True if ``data`` starts like an AWS store (base64 text or the bare binary)."""
    if data[: len(AWS_MAGIC)] == AWS_MAGIC:
        return True
    return data.lstrip(_WHITESPACE)[: len(_ARMORED_MAGIC_PREFIX)] == _ARMORED_MAGIC_PREFIX


@value
class _Armor:
    armored: bool
    line_length: int | None
    newline: bytes
    trailer: bytes


def unarmor(data: bytes) -> bytes:
    """The binary container of an AWS file (base64-decoded unless already binary)."""
    return _unarmor(data)[0]


def _unarmor(data: bytes) -> tuple[bytes, _Armor]:
    if data[: len(AWS_MAGIC)] == AWS_MAGIC:
        return bytes(data), _Armor(False, None, b"\n", b"")
    what = "AWS base64"
    bad = _NOT_BASE64.search(data)
    if bad is not None:
        raise DecodeError(f"byte 0x{bad.group()[0]:02x} is not base64", bad.start(), what=what)
    body = data.rstrip(_WHITESPACE)
    trailer = bytes(data[len(body) :])
    compact = re.sub(rb"\s+", b"", body)
    if not compact:
        raise DecodeError("no base64 text", len(data), what=what)
    pad = compact.find(b"=")
    if pad >= 0 and compact[pad:].strip(b"=") != b"":
        raise DecodeError("'=' padding inside the text", _nth_non_space(data, pad), what=what)
    if len(compact) % 4:
        raise DecodeError(f"{len(compact)} base64 characters, not a multiple of 4", len(body), what=what)
    try:
        binary = binascii.a2b_base64(compact, strict_mode=True)
    except binascii.Error as exc:  # e.g. "A===": too much padding
        raise DecodeError(f"bad base64: {exc}", 0, what=what) from exc
    line_length, newline = _wrapping(body)
    return binary, _Armor(True, line_length, newline, trailer)


def _nth_non_space(data: bytes, index: int) -> int:
    """Offset in ``data`` of the ``index``-th character that is not whitespace."""
    seen = -1
    for pos, byte in enumerate(data):
        if byte not in _WHITESPACE:
            seen += 1
            if seen == index:
                return pos
    return len(data)


def _wrapping(body: bytes) -> tuple[int | None, bytes]:
    newline = b"\r\n" if b"\r\n" in body else b"\n"
    lines = body.split(newline)
    if len(lines) < 2:
        return None, newline
    width = len(lines[0])
    if (
        width
        and width % 4 == 0
        and all(len(line) == width for line in lines[:-1])
        and len(lines[-1]) <= width
    ):
        return width, newline
    return None, newline


def _armor(binary: bytes, origin: AwsOrigin) -> bytes:
    if not origin.armored:
        return binary
    text = base64.b64encode(binary)
    width = origin.line_length
    if width:
        text = origin.newline.join(text[i : i + width] for i in range(0, len(text), width))
    return text + origin.trailer


# --- the container ---------------------------------------------------------------------


@value
class _Container:
    payload: bytes
    level: int
    wbits: int


_FLEVEL_TO_LEVEL = (1, 5, 6, 9)


def _open_container(binary: bytes) -> _Container:
    what = "AWS"
    if len(binary) < AWS_HEADER_SIZE:
        raise DecodeError(
            f"truncated header: {len(binary)} of {AWS_HEADER_SIZE} bytes", len(binary), what=what
        )
    magic, crc, version = _HEADER.unpack_from(binary, 0)
    if magic != AWS_MAGIC:
        raise DecodeError(f"bad magic {magic!r}, expected {AWS_MAGIC!r}", 0, what=what)
    actual = crc32c(binary[12:])
    if actual != crc:
        raise DecodeError(f"CRC-32C mismatch: header says 0x{crc:08x}, data has 0x{actual:08x}", 8, what=what)
    if version != AWS_VERSION:
        raise DecodeError(f"unknown version {version}, expected {AWS_VERSION}", 12, what=what)
    compressed = binary[AWS_HEADER_SIZE:]
    inflater = zlib.decompressobj(0, zdict=zdict_v0())
    try:
        payload = inflater.decompress(compressed, MAX_PAYLOAD_SIZE + 1)
    except zlib.error as exc:
        raise DecodeError(f"compressed data: {exc}", AWS_HEADER_SIZE, what=what) from exc
    if len(payload) > MAX_PAYLOAD_SIZE or inflater.unconsumed_tail:
        raise DecodeError(
            f"payload larger than {MAX_PAYLOAD_SIZE} bytes when decompressed", AWS_HEADER_SIZE, what=what
        )
    if not inflater.eof:
        raise DecodeError("truncated compressed data", len(binary), what=what)
    if inflater.unused_data:
        raise DecodeError(
            f"{len(inflater.unused_data)} bytes after the end of the compressed data",
            len(binary) - len(inflater.unused_data),
            what=what,
        )
    cmf, flg = compressed[0], compressed[1]
    return _Container(payload, _FLEVEL_TO_LEVEL[flg >> 6], (cmf >> 4) + 8)


def decompress(data: bytes) -> bytes:
    """The decompressed payload of an AWS file (text or binary), after all checks."""
    return _open_container(unarmor(data)).payload


# --- the payload -----------------------------------------------------------------------


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int, what: str) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise DecodeError(
                f"truncated {what}: needs {size} bytes, {len(self.data) - self.pos} left",
                self.pos,
                what="AWS payload",
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u32(self, what: str) -> int:
        value: int = _U32.unpack(self.take(4, what))[0]
        return value

    def u64(self, what: str) -> int:
        value: int = _U64.unpack(self.take(8, what))[0]
        return value

    def blob(self, what: str) -> bytes:
        start = self.pos
        size = self.u64(f"{what} length")
        if size > len(self.data) - self.pos:
            raise DecodeError(
                f"{what} length {size} runs past the end of the payload", start, what="AWS payload"
            )
        return self.take(size, what)


@value
class _Payload:
    variables: tuple[Variable, ...]
    empty_digest: bytes | None


def _parse_payload(payload: bytes) -> _Payload:
    reader = _Reader(payload)
    count = reader.u64("variable count")
    if count > (len(payload) - 8) // _MIN_RECORD:
        raise DecodeError(f"variable count {count} is more than the payload can hold", 0, what="AWS payload")
    variables: list[Variable] = []
    seen: dict[VariableKey, int] = {}
    empty_digest: bytes | None = None
    for _ in range(count):
        start = reader.pos
        name_offset = reader.pos + 8
        raw_name = reader.blob("name")
        try:
            name = raw_name.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(
                f"name is not UTF-8: {exc.reason}", name_offset + exc.start, what="AWS payload"
            ) from exc
        if "\0" in name:
            raise DecodeError(
                "NUL inside a variable name", name_offset + raw_name.index(0), what="AWS payload"
            )
        data = reader.blob("data")
        guid = UUID(bytes_le=reader.take(GUID_SIZE, "VendorGuid"))
        attributes = Attributes(reader.u32("attributes"))
        timestamp: EfiTime | None = None
        digest: bytes | None = None
        if attributes & AT:
            timestamp = EfiTime.from_bytes(reader.take(EFI_TIME_SIZE, "TimeStamp"))
            digest = reader.blob("digest")
            if digest in (b"", UEFIVARS_EMPTY_DIGEST):
                if empty_digest is None:
                    empty_digest = digest
                digest = None
        var = Variable(name, guid, attributes, data, timestamp, digest)
        if var.key in seen:
            raise DecodeError(
                f"{name!r} ({guid_label(guid)}) appears twice (first at offset {seen[var.key]})",
                start,
                what="AWS payload",
            )
        seen[var.key] = start
        variables.append(var)
    if reader.pos != len(payload):
        raise DecodeError(
            f"{len(payload) - reader.pos} bytes after the last variable", reader.pos, what="AWS payload"
        )
    return _Payload(tuple(variables), empty_digest)


def _record(var: Variable, empty_digest: bytes) -> bytes:
    try:
        name = var.name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodeError(f"variable name {var.name!r} cannot be written as UTF-8") from exc
    if "\0" in var.name:
        raise EncodeError(f"variable name {var.name!r} contains NUL")
    attributes = int(var.attributes)
    if not 0 <= attributes <= 0xFFFFFFFF:
        raise EncodeError(f"{var.name}: attributes 0x{attributes:x} do not fit 32 bits")
    parts = [
        _U64.pack(len(name)),
        name,
        _U64.pack(len(var.data)),
        bytes(var.data),
        var.guid.bytes_le,
        _U32.pack(attributes),
    ]
    if attributes & AT:
        timestamp = var.timestamp or EfiTime()
        digest = empty_digest if var.digest is None else bytes(var.digest)
        parts += [timestamp.to_bytes(), _U64.pack(len(digest)), digest]
    return b"".join(parts)


def encode_payload(store: VarStore, empty_digest: bytes = UEFIVARS_EMPTY_DIGEST) -> bytes:
    """The uncompressed payload for ``store`` (records in store order)."""
    return _U64.pack(len(store)) + b"".join(_record(var, empty_digest) for var in store)


# --- public codec ----------------------------------------------------------------------


def decode(data: bytes) -> StoreDocument:
    """Decode an AWS store (base64 text, or the bare binary container)."""
    binary, armor = _unarmor(data)
    container = _open_container(binary)
    parsed = _parse_payload(container.payload)
    origin = AwsOrigin(
        armored=armor.armored,
        line_length=armor.line_length,
        newline=armor.newline,
        trailer=armor.trailer,
        level=container.level,
        wbits=container.wbits,
        empty_digest=UEFIVARS_EMPTY_DIGEST if parsed.empty_digest is None else parsed.empty_digest,
        variables=parsed.variables,
        raw=bytes(data),
    )
    return StoreDocument(StoreFormat.AWS, VarStore(parsed.variables), origin)


def encode(store: VarStore, origin: object = None) -> bytes:
    """Encode ``store`` as an AWS file.

    With the :class:`AwsOrigin` of a decoded file, an unchanged store gives back the
    original bytes and a changed one is written in the same style; any other origin is
    ignored and the python-uefivars style is used (base64 on one line, no newline,
    zlib level 9, 32-byte zero digests).

    Only variables with TIME_BASED_AUTHENTICATED_WRITE_ACCESS carry a timestamp and a
    digest in this format: a missing timestamp is written as zeros (and reads back as
    the zero EfiTime); the timestamp and digest of other variables are not stored.
    """
    style = origin if isinstance(origin, AwsOrigin) else AwsOrigin()
    if style.raw and tuple(store) == style.variables:
        return style.raw
    return _encode(store, style)


def _encode(store: VarStore, style: AwsOrigin) -> bytes:
    payload = encode_payload(store, style.empty_digest)
    deflater = zlib.compressobj(style.level, zlib.DEFLATED, style.wbits, zdict=zdict_v0())
    body = _U32.pack(AWS_VERSION) + deflater.compress(payload) + deflater.flush()
    binary = AWS_MAGIC + _U32.pack(crc32c(body)) + body
    return _armor(binary, style)


# --- byte spans ------------------------------------------------------------------------


def container_fields(binary: bytes) -> Field:
    """Spans of the binary container (as returned by :func:`unarmor`)."""
    magic, crc, version = _HEADER.unpack_from(binary.ljust(AWS_HEADER_SIZE, b"\0"), 0)
    return Field(
        "AWS uefi-data",
        0,
        len(binary),
        f"{len(binary)} bytes",
        (
            Field("Magic", 0, 8, repr(magic)),
            Field("Crc32c", 8, 4, f"0x{crc:08x}"),
            Field("Version", 12, 4, str(version)),
            Field(
                "CompressedPayload",
                AWS_HEADER_SIZE,
                max(len(binary) - AWS_HEADER_SIZE, 0),
                f"{max(len(binary) - AWS_HEADER_SIZE, 0)} bytes (zlib, preset dictionary v0)",
            ),
        ),
    )


def payload_fields(payload: bytes) -> Field:
    """Spans of the decompressed payload (as returned by :func:`decompress`)."""
    parsed = _parse_payload(payload)
    children = [Field("Count", 0, 8, str(len(parsed.variables)))]
    pos = 8
    for index, var in enumerate(parsed.variables):
        start = pos
        parts: list[Field] = []
        name_length = len(var.name.encode("utf-8"))
        layout = [
            ("NameLength", 8, str(name_length)),
            ("Name", name_length, var.name),
            ("DataLength", 8, str(len(var.data))),
            ("Data", len(var.data), f"{len(var.data)} bytes"),
            ("VendorGuid", GUID_SIZE, guid_label(var.guid)),
            ("Attributes", 4, f"0x{int(var.attributes):08x}"),
        ]
        if var.attributes & AT:
            digest_length: int = _U64.unpack_from(payload, pos + 8 + name_length + 8 + len(var.data) + 36)[0]
            digest_offset = pos + 8 + name_length + 8 + len(var.data) + 44
            layout += [
                ("TimeStamp", EFI_TIME_SIZE, str(var.timestamp)),
                ("DigestLength", 8, str(digest_length)),
                (
                    "Digest",
                    digest_length,
                    payload[digest_offset : digest_offset + digest_length].hex() or "-",
                ),
            ]
        for name, size, text in layout:
            parts.append(Field(name, pos, size, text))
            pos += size
        children.append(Field(f"Variable[{index}]", start, pos - start, var.name, tuple(parts)))
    return Field("AWS payload", 0, len(payload), f"{len(parsed.variables)} variables", tuple(children))
