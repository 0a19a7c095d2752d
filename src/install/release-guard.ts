/**
 * Rollback protection (TUF's rollback attack): a validly signed but older bundle must not install
 * over a newer one. Each bundle carries a signed release number per profile; the instance records
 * the highest it has run, and a lower release is refused unless the operator says
 * --allow-downgrade. Creation time is not the order: it is settable (SOURCE_DATE_EPOCH).
 */
import { AirgapError } from '../errors.js';

export interface ReleaseDecision {
  /** What the instance records as the highest release it has run after this install. */
  highest: number;
  downgrade: boolean;
}

export function checkRelease(
  instance: string,
  highestInstalled: number,
  incoming: number,
  allowDowngrade: boolean,
): ReleaseDecision {
  const downgrade = incoming < highestInstalled;
  if (downgrade && !allowDowngrade) {
    throw new AirgapError(
      'INSTALL_DOWNGRADE_REFUSED',
      `instance ${instance} has run release ${highestInstalled}; this bundle is release ${incoming}, older. An older signed bundle can bring back what a newer one fixed; pass --allow-downgrade if this is intended`,
      { details: { installed: highestInstalled, bundle: incoming } },
    );
  }
  return { highest: Math.max(highestInstalled, incoming), downgrade };
}
