"""The reference for TensorBoard event files (test/tensorboard.test.ts).

read_events(path): an event file decoded independently of our writer: TFRecord framing with both
masked CRC-32C checks (a bitwise CRC here, not our table), the Event / Summary protobufs parsed
from the wire format, PNG images inflated back to pixels (their chunk CRCs checked with zlib's).

pytorch(): PyTorch's own summary code (make_histogram, convert_to_HWC, make_grid, the default
histogram bins), taken from the installed torch.utils.tensorboard sources. Those modules import
the `tensorboard` package (not installed here) for its protobuf classes only, so the functions are
compiled out of the source files with a plain dict standing in for HistogramProto (and 1.13's
one call that today's numpy refuses written as PyTorch 2 writes it).
"""
import ast
import json
import os
import struct
import sys
import zlib

import numpy as np


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def fields(buf):
    """(field number, wire type, value) of a protobuf message: ints for varints, bytes otherwise."""
    i, out = 0, []
    while i < len(buf):
        key, i = varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError('unexpected wire type %d' % wire)
        out.append((field, wire, v))
    return out


def varint(buf, i):
    shift = v = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def f64(b):
    return struct.unpack('<d', b)[0]


def png_pixels(png):
    assert png[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    i, idat, header = 8, b'', None
    while i < len(png):
        n, = struct.unpack('>I', png[i:i + 4])
        kind, data = png[i + 4:i + 8], png[i + 8:i + 8 + n]
        crc, = struct.unpack('>I', png[i + 8 + n:i + 12 + n])
        assert crc == zlib.crc32(kind + data), 'PNG chunk CRC'
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', data)
        elif kind == b'IDAT':
            idat += data
        i += 12 + n
    width, height, depth, color = header[:4]
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = zlib.decompress(idat)
    stride = width * channels
    rows = []
    for y in range(height):
        row = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        assert row[0] == 0, 'unfiltered rows expected'
        rows.append(list(row[1:]))
    return {'width': width, 'height': height, 'depth': depth, 'channels': channels,
            'pixels': np.array(rows, dtype=np.uint8).reshape(height, width, channels).tolist()}


def pb_value(buf):
    """google.protobuf.Value as {kind: value}."""
    (f, _, v), = fields(buf)
    return {1: lambda: {'null_value': None}, 2: lambda: {'number_value': f64(v)}, 3: lambda: {'string_value': v.decode()},
            4: lambda: {'bool_value': bool(v)}}[f]()


def hparams_data(buf):
    """HParamsPluginData (tensorboard/plugins/hparams: plugin_data.proto, api.proto) as JSON."""
    out = {'version': 0}
    for f, _, v in fields(buf):
        if f == 1:
            out['version'] = v
        elif f == 2:
            exp = {'hparam_infos': [], 'metric_infos': []}
            for g, _, x in fields(v):
                if g == 4:
                    info = {}
                    for h, _, y in fields(x):
                        if h == 1:
                            info['name'] = y.decode()
                        elif h == 4:
                            info['type'] = y
                        elif h == 5:
                            info['domain_discrete'] = [pb_value(z) for k, _, z in fields(y) if k == 1]
                    exp['hparam_infos'].append(info)
                elif g == 5:
                    name = dict((h, y) for h, _, y in fields(dict((h, y) for h, _, y in fields(x))[1]))
                    exp['metric_infos'].append({'name': {({1: 'group', 2: 'tag'})[h]: y.decode() for h, y in name.items()}})
            out['experiment'] = exp
        elif f == 3:
            hp = {}
            for g, _, entry in fields(v):
                if g == 1:
                    e = dict((h, y) for h, _, y in fields(entry))
                    hp[e[1].decode()] = pb_value(e[2])
            out['session_start_info'] = {'hparams': hp}
        elif f == 4:
            out['session_end_info'] = dict((({1: 'status', 2: 'end_time_secs'})[g], x) for g, _, x in fields(v))
    return out


def value(buf):
    out = {}
    for f, w, v in fields(buf):
        if f == 1:
            out['tag'] = v.decode()
        elif f == 2:
            out['simple_value'] = struct.unpack('<f', v)[0]
        elif f == 4:
            img = {({1: 'height', 2: 'width', 3: 'colorspace', 4: 'png'})[g]: x for g, _, x in fields(v)}
            img['png'] = png_pixels(img['png'])
            out['image'] = img
        elif f == 6:
            a = {({1: 'sample_rate', 2: 'num_channels', 3: 'length_frames', 4: 'wav', 5: 'content_type'})[g]: x for g, _, x in fields(v)}
            a['sample_rate'] = struct.unpack('<f', a['sample_rate'])[0]
            a['content_type'] = a['content_type'].decode()
            a['wav'] = list(a['wav'])
            out['audio'] = a
        elif f == 5:
            h = {'bucket_limit': [], 'bucket': []}
            for g, gw, x in fields(v):
                name = {1: 'min', 2: 'max', 3: 'num', 4: 'sum', 5: 'sum_squares', 6: 'bucket_limit', 7: 'bucket'}[g]
                if g >= 6:
                    h[name] += list(struct.unpack('<%dd' % (len(x) // 8), x))
                else:
                    h[name] = f64(x)
            out['histo'] = h
        elif f == 8:
            t = {'string_val': [], 'dim': []}
            for g, _, x in fields(v):
                if g == 1:
                    t['dtype'] = x
                elif g == 2:
                    t['dim'] += [dict((k, y) for k, _, y in fields(d)).get(1, 0) for _, _, d in fields(x)]
                elif g == 8:
                    t['string_val'].append(x.decode())
                elif g == 5:
                    t['float_val'] = list(struct.unpack('<%df' % (len(x) // 4), x))
            out['tensor'] = t
        elif f == 9:
            plugin = dict((g, x) for g, _, x in fields(dict((g, x) for g, _, x in fields(v))[1]))
            out['plugin_name'] = plugin[1].decode()
            out['plugin_content'] = list(plugin.get(2, b''))
            if out['plugin_name'] == 'hparams':
                out['plugin_content'] = hparams_data(plugin.get(2, b''))
    return out


def read_events(path):
    data = open(path, 'rb').read()
    i, events = 0, []
    while i < len(data):
        header = data[i:i + 8]
        n, = struct.unpack('<Q', header)
        assert struct.unpack('<I', data[i + 8:i + 12])[0] == masked(crc32c(header)), 'length CRC'
        body = data[i + 12:i + 12 + n]
        assert struct.unpack('<I', data[i + 12 + n:i + 16 + n])[0] == masked(crc32c(body)), 'data CRC'
        i += 16 + n
        ev = {'step': 0}
        for f, w, v in fields(body):
            if f == 1:
                ev['wall_time'] = f64(v)
            elif f == 2:
                ev['step'] = v - (1 << 64) if v >= 1 << 63 else v
            elif f == 3:
                ev['file_version'] = v.decode()
            elif f == 5:
                ev['values'] = [value(x) for g, _, x in fields(v) if g == 1]
        events.append(ev)
    return events


def pytorch():
    """PyTorch's make_histogram, convert_to_HWC (with make_grid) and default bins, from its sources."""
    import torch
    base = os.path.dirname(torch.utils.__file__) + '/tensorboard/'
    ns = {'np': np, 'HistogramProto': lambda **kw: kw}
    ns.update(stubs())
    files = (('summary.py', ['make_histogram', 'compute_curve', 'audio', 'hparams']), ('_utils.py', ['make_grid', 'convert_to_HWC']),
             ('_embedding.py', ['make_tsv', 'make_sprite', 'make_mat', 'get_embedding_info']))
    for file, names in files:
        src = open(base + file).read()
        # torch 1.13's make_histogram asks numpy for an int32 `greater`, which numpy >= 1.24
        # refuses; PyTorch 2 counts the non-empty bins without the dtype (the same counts).
        src = src.replace('np.greater(counts, 0, dtype=np.int32)', 'np.greater(counts, 0)')
        tree = ast.parse(src)
        fns = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
        assert len(fns) == len(names), (file, names)
        exec(compile(ast.Module(body=fns, type_ignores=[]), base + file, 'exec'), ns)
    # the default bins are built in SummaryWriter.__init__: the loop itself, run here
    src = open(base + 'writer.py').read()
    start = src.index('        v = 1e-12')
    end = src.index('self.default_bins = neg_buckets[::-1] + [0] + buckets')
    loop = '\n'.join(line[8:] for line in src[start:end].splitlines())
    exec(loop + '\ndefault_bins = neg_buckets[::-1] + [0] + buckets\n', ns)
    return ns


def stubs():
    """Stand-ins for what PyTorch's summary code takes from packages not installed here: the
    protobuf classes (plain dicts), TensorFlow's file API (the local disk), PIL (the sprite's
    pixels saved as JSON instead of a PNG) and make_np (tensors to arrays)."""
    class Summary(dict):
        Audio = staticmethod(lambda **kw: kw)
        Value = staticmethod(lambda **kw: kw)

    class FS:
        write = staticmethod(lambda path, data, binary_mode=True: open(path, 'wb').write(data))
        join = staticmethod(os.path.join)

    class Gfile:
        get_filesystem = staticmethod(lambda path: FS)
        GFile = staticmethod(open)

    class TF:
        class io:
            gfile = Gfile

        class compat:
            as_bytes = staticmethod(lambda s: s.encode() if isinstance(s, str) else s)

    class Sprite:
        def __init__(self):
            self.image_path = None
            self.single_image_dim = []

    class EmbeddingInfo:
        def __init__(self):
            self.metadata_path = None
            self.sprite = Sprite()

    class Img:
        def __init__(self, arr):
            self.arr = arr

        def save(self, buf, format):
            buf.write(json.dumps(self.arr.tolist()).encode())

    # hparams(): its protobuf classes as builders of the JSON hparams_data() reads back
    def module(name, **attrs):
        m = type(sys)(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    class PbValue(dict):
        def __setattr__(self, k, v):
            self[k] = v

    class SessionStartInfo:
        def __init__(self):
            import collections
            self.hparams = collections.defaultdict(PbValue)

    class HParamsPluginData:
        def __init__(self, version, **data):
            (key, v), = data.items()
            self.json = {'version': version, key: {'hparams': dict(v.hparams)} if key == 'session_start_info' else v}

        def SerializeToString(self):
            return self.json

    def info(name, type, domain_discrete=None):
        return {'name': name, 'type': type, **({} if domain_discrete is None else {'domain_discrete': domain_discrete})}

    enum = lambda **values: type('Enum', (), {'Value': staticmethod(values.__getitem__)})
    module('tensorboard')
    module('tensorboard.plugins')
    module('tensorboard.plugins.hparams')
    module('tensorboard.plugins.hparams.api_pb2', Experiment=lambda **kw: kw, HParamInfo=info, MetricInfo=lambda **kw: kw,
           MetricName=lambda **kw: kw, Status=enum(STATUS_SUCCESS=1), DataType=enum(DATA_TYPE_STRING=1, DATA_TYPE_BOOL=2, DATA_TYPE_FLOAT64=3))
    module('tensorboard.plugins.hparams.metadata', PLUGIN_NAME='hparams', PLUGIN_DATA_VERSION=0, EXPERIMENT_TAG='_hparams_/experiment',
           SESSION_START_INFO_TAG='_hparams_/session_start_info', SESSION_END_INFO_TAG='_hparams_/session_end_info')
    module('tensorboard.plugins.hparams.plugin_data_pb2', HParamsPluginData=HParamsPluginData, SessionEndInfo=lambda **kw: kw,
           SessionStartInfo=SessionStartInfo)

    class struct_pb2:
        Value = staticmethod(lambda **kw: kw)
        ListValue = staticmethod(lambda values: values)

    class SummaryMetadata(dict):
        PluginData = staticmethod(lambda **kw: kw)

    Summary.Value = staticmethod(lambda **kw: kw)

    PIL = type(sys)('PIL')
    PIL.Image = type(sys)('PIL.Image')
    PIL.Image.fromarray = Img
    sys.modules['PIL'] = PIL
    sys.modules['PIL.Image'] = PIL.Image
    return {'Summary': Summary, 'SummaryMetadata': SummaryMetadata, 'struct_pb2': struct_pb2, 'logger': None, 'Optional': None, 'tf': TF, 'EmbeddingInfo': EmbeddingInfo, 'make_np': lambda x: x.detach().numpy() if hasattr(x, 'detach') else x, 'math': __import__('math')}


if __name__ == '__main__':
    print(json.dumps(read_events(sys.argv[1])))
