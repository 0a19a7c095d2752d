import { promises as fsp } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { AirgapError } from '../../errors.js';
import { guarded, type AppOptions } from '../app-options.js';
import { resolveLogTarget, withLogTarget, type LogTargetArgs } from '../log-target-args.js';
import { printResult, type CommonArgs } from '../output.js';
import { lastValue, typed, withCommon } from '../options.js';
import { isSha256Hex } from '../../util/sha256.js';
import { rotateCommand } from './log-rotate.js';
import { receiptOfEntry, receiptText } from '../receipt-of-entry.js';
import { instancePaths } from '../../instance/layout.js';

interface GetArgs extends CommonArgs, LogTargetArgs {
  index?: number;
  digest?: string;
  record?: string;
  receipt?: string;
}

const getCommand = {
  command: 'get',
  describe:
    "read an entry back and prove it is in the log's signed checkpoint (the counterpart of rekor-cli get --log-index, for Rekor v2 too)",
  builder: (y) =>
    typed<GetArgs>(
      withLogTarget(withCommon(y))
        .option('index', { coerce: lastValue, type: 'number', describe: 'log index of the entry' })
        .option('digest', {
          coerce: lastValue,
          type: 'string',
          describe: 'find the entries signing this SHA-256 (hex, or sha256:hex)',
        })
        .option('receipt', {
          coerce: lastValue,
          type: 'string',
          describe:
            "directory of an install receipt (install-receipt.json, .sig, install-key.pub) to check against the entry (default with --instance: the instance's receipt/)",
        })
        .option('record', {
          coerce: lastValue,
          type: 'string',
          describe: 'check a transparency.checkpoint record (JSON) against the log in one go',
        })
        .example(
          '$0 log get --instance default --index 0',
          'the first entry: the install receipt, checked against its statement and install key',
        )
        .example(
          '$0 log get --instance default --index 3',
          "the entry's digest and key, proved into the current checkpoint",
        )
        .example(
          '$0 log get --url $AEVUM_REKOR_URL --ca ca.crt --log-key log.pub --origin rekor.site.internal --record record.json',
          '',
        ),
    ),
  handler: async (args) => {
    const given = [args.index !== undefined, !!args.digest, !!args.record].filter(Boolean).length;
    if (given !== 1) throw new AirgapError('USAGE_INVALID', 'pass one of --index N, --digest SHA256 or --record FILE');
    const { logStackFor } = await import('../../stacks/registry.js');
    const { target, kind, state } = await resolveLogTarget(args);
    const stack = logStackFor(kind, state?.instance);
    const show = (e: Awaited<ReturnType<typeof stack.readEntry>>) => ({
      logIndex: e.logIndex,
      kind: e.kind,
      digest: `sha256:${e.digestHex}`,
      verifier: e.verifier,
      treeSize: e.head.size,
      rootHash: e.head.rootHex,
      proofHashes: e.proofHashes,
    });
    const text = (e: Awaited<ReturnType<typeof stack.readEntry>>) =>
      [
        `entry ${e.logIndex} (${e.kind}) of ${target.endpoint.url}`,
        `  digest:   sha256:${e.digestHex}`,
        `  signer:   ${e.verifier.trim().split('\n').join('\n            ')}`,
        `  included: in the signed checkpoint of size ${e.head.size} (root ${e.head.rootHex}), ${e.proofHashes} proof hashes`,
      ].join('\n');
    if (args.index !== undefined) {
      const e = await stack.readEntry(target, args.index);
      const dir = args.receipt ?? (state ? instancePaths(state.dataDir).receipt : undefined);
      const receipt = dir ? await receiptOfEntry(dir, e, !!args.receipt) : undefined;
      printResult(
        args,
        { ...show(e), ...(receipt ? { receipt } : {}) },
        receipt ? `${text(e)}\n${receiptText(receipt, dir!)}` : text(e),
      );
      return;
    }
    if (args.digest) {
      const hex = args.digest.replace(/^sha256:/, '').toLowerCase();
      if (!isSha256Hex(hex))
        throw new AirgapError('USAGE_INVALID', `--digest ${args.digest} is not a SHA-256 (64 hex digits)`);
      const found = await stack.findEntries(target, hex);
      if (!found.length)
        throw new AirgapError('USAGE_INVALID', `no entry of ${target.endpoint.url} signs sha256:${hex}`);
      const entries = [];
      for (const i of found) entries.push(await stack.readEntry(target, i));
      printResult(args, entries.map(show), entries.map(text).join('\n'));
      return;
    }
    const { checkRecord, parseCheckpointRecord } = await import('../../rekor/record-check.js');
    const raw = await fsp.readFile(args.record!, 'utf8').catch((e: Error) => {
      throw new AirgapError('USAGE_UNREADABLE', `cannot read --record ${args.record}: ${e.message}`);
    });
    const r = await checkRecord(
      parseCheckpointRecord(raw),
      target,
      (i) => stack.readEntry(target, i),
      (from, to) => stack.proveConsistency(target, from, to),
    );
    printResult(
      args,
      { ...show(r.entry), record: { ok: true, checkpointSize: r.recordSize } },
      `${text(r.entry)}\n  record:   ${args.record} holds: the entry signs its digest, its proof is in its checkpoint (size ${r.recordSize}, signed by the log key), and the log today (size ${r.entry.head.size}) is consistent with it`,
    );
  },
} satisfies CommandModule<object, GetArgs>;

export function logCommand(opts: AppOptions): CommandModule {
  return {
    command: 'log <command>',
    describe: 'the log itself: read entries and their proofs, rotate it to a new shard',
    builder: (y: Argv) =>
      y
        .command(guarded(getCommand as unknown as CommandModule, opts))
        .command(guarded(rotateCommand as unknown as CommandModule, opts))
        .demandCommand(1, 'name a log command'),
    handler: () => undefined,
  };
}
