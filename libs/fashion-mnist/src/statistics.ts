/**
 * The dataset's pixel statistics, by which every consumer normalises an image the same way:
 * training's input pipeline, the exported models' preprocessing, the web app's classifier.
 */

/**
 * Mean of Fashion-MNIST's training pixels, scaled to [0, 1].
 * @example (v / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD // a normalised pixel
 */
export const FASHION_MNIST_MEAN = 0.286;

/** Standard deviation of Fashion-MNIST's training pixels, scaled to [0, 1]. */
export const FASHION_MNIST_STD = 0.353;
