/**
 * `log get`'s reading of an install receipt: the receipt files in a directory (the instance's
 * `receipt/`, or one an auditor was given), checked against the entry when it is the one that
 * records them.
 */
import path from 'node:path';
import { checkReceipt, type CheckedReceipt, type ReceiptEntryView } from '../receipt/check.js';
import { readRegularFile } from '../util/bounded-read.js';
import { instancePaths } from '../instance/layout.js';
import { sha256Hex } from '../oci/digest.js';

const LIMIT = 1024 * 1024;

async function readReceiptDir(dir: string) {
  // The file names an instance's receipt/ has (an auditor's copy keeps them).
  const p = instancePaths('/');
  const read = (f: string) =>
    readRegularFile(path.join(dir, path.basename(f)), LIMIT, 'RECEIPT_INVALID', 'install receipt file');
  return {
    statement: await read(p.receiptStatement),
    signature: (await read(p.receiptSignature)).toString('utf8'),
    publicKeyPem: (await read(p.receiptKey)).toString('utf8'),
  };
}

/**
 * The receipt in `dir`, checked, when the entry signs it; undefined when it is another entry (or,
 * not `required`, when there are no receipt files). A receipt that was asked for must match.
 */
export async function receiptOfEntry(
  dir: string,
  entry: ReceiptEntryView,
  required: boolean,
): Promise<CheckedReceipt | undefined> {
  let files;
  try {
    files = await readReceiptDir(dir);
  } catch (e) {
    if (!required) return undefined;
    throw e;
  }
  if (!required && sha256Hex(files.statement) !== entry.digestHex) return undefined;
  return checkReceipt(files, entry);
}

export function receiptText(r: CheckedReceipt, dir: string): string {
  return [
    `  receipt:  the install receipt of instance ${r.instance} (${dir}): signature verified with its install key`,
    `            ${r.profile} release ${r.release}, installed ${r.installedAt} from bundle.json sha256:${r.bundleSha256}`,
    ...r.images.map((i) => `            ${i.ref}@${i.digest} → image ${i.imageId}: ${i.provenance}`),
  ].join('\n');
}
